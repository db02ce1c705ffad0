"""The Overreach function of tests/support/overreach.py: it reads an item with GetItem."""

import json
from typing import Any

from shared.aws import dynamodb
from shared.config import TableSettings
from shared.http import JSON_CONTENT_TYPE

# Made at import, as the app's handlers make theirs: with this function's identity.
_client = dynamodb()
_table = TableSettings.from_env().table_name


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    found = _client.get_item(TableName=_table, Key={"pk": {"S": "any"}, "sk": {"S": "any"}})
    return {
        "statusCode": 200,
        "headers": {"Content-Type": JSON_CONTENT_TYPE},
        "body": json.dumps({"found": "Item" in found}),
    }
