"""HTTP requests become the REST API proxy events API Gateway sends."""

import base64

from infra.local.proxy import HttpRequest, request_to_event, result_to_response
from infra.topology import ROUTES

ROUTE = ROUTES[0]


def request(body: bytes = b"", content_type: str = "application/json") -> HttpRequest:
    return HttpRequest(
        method=ROUTE.method,
        target=ROUTE.path + "?a=1&b=x&b=y&empty=",
        headers=[
            ("Host", "127.0.0.1:8000"),
            ("Content-Type", content_type),
            ("Accept", "text/html"),
            ("Accept", "application/json"),
        ],
        body=body,
        source_ip="198.51.100.7",
    )


def test_the_event_carries_the_request_context_api_gateway_sends():
    event = request_to_event(request(), ROUTE, {})

    context = event["requestContext"]
    assert context["requestId"]
    assert isinstance(context["requestTimeEpoch"], int)
    assert context["stage"] == "local"
    assert context["identity"]["sourceIp"] == "198.51.100.7"
    assert context["resourcePath"] == ROUTE.path
    assert event["resource"] == event["path"] == ROUTE.path


def test_headers_and_query_parameters_come_single_and_multi_valued():
    event = request_to_event(request(), ROUTE, {})

    assert event["headers"]["Accept"] == "application/json"
    assert event["multiValueHeaders"]["Accept"] == ["text/html", "application/json"]
    assert event["queryStringParameters"] == {"a": "1", "b": "y", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1"], "b": ["x", "y"], "empty": [""]}


def test_a_text_body_is_passed_as_text_and_no_body_as_null():
    assert request_to_event(request(b'{"number": 1}'), ROUTE, {})["body"] == '{"number": 1}'
    empty = request_to_event(request(), ROUTE, {})
    assert (empty["body"], empty["isBase64Encoded"]) == (None, False)


def test_a_binary_body_is_base64_encoded():
    data = b"\x89PNG\r\n\x1a\n\x00"

    event = request_to_event(request(data, "image/png"), ROUTE, {})

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data


def test_a_proxy_result_becomes_http_with_every_header_value():
    response = result_to_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"{}").decode(),
            "isBase64Encoded": True,
        }
    )

    assert response.status == 201
    assert response.body == b"{}"
    assert ("Set-Cookie", "a=1") in response.headers
    assert ("Set-Cookie", "b=2") in response.headers
