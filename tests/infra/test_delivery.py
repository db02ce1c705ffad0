"""Safe delivery as the templates declare it: what the contract suite accepts from a
deployment holds the template to its word."""

import json

from infra.cloud.api import VALIDATION_ERRORS
from tests.contract.client import names
from tests.contract.differences import MODEL_VALIDATOR_DETAIL_PREFIX
from tests.infra.conftest import Synth


def test_the_contract_suite_recognises_the_validators_refusal(dev: Synth) -> None:
    # Given the problem API Gateway answers for a body its model rejects
    [bad_body] = [
        r["Properties"]
        for r in dev.of_type("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == "BAD_REQUEST_BODY"
    ]
    template = bad_body["ResponseTemplates"]["application/json"]
    rendered = r"[instance value (11) greater than maximum allowed (10)]"
    problem = json.loads(template.replace(VALIDATION_ERRORS, rendered))

    # Then its detail is the one differences.MODEL_VALIDATOR lists, so the contract
    # suite accepts it as naming the field in the validator's words
    assert problem["detail"].startswith(MODEL_VALIDATOR_DETAIL_PREFIX)
    assert names(problem, "number")
    # and nothing else passes for it
    assert not names({**problem, "detail": "Something else."}, "number")
