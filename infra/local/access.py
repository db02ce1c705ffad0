"""IAM for the local AWS endpoint: each function may call only the table actions its
declaration grants (infra/topology.py `table_actions`), as its role allows in AWS.

A caller is known by the access key id it signs with: a function's is its name
(`infra.local.runtime`); any other key (the stack, the CLIs, the tests) is an
operator's, with full access. A refusal is AWS's: HTTP 400 AccessDeniedException.
"""

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from backup.drill_settings import scratch_prefix
from infra.topology import Function, TablePart

# DynamoDB Local's own ARNs (region ddblocal, account 000000000000), so a grant on a
# table's backups matches the backup ARNs the endpoint hands out.
TABLE_ARN: Final = "arn:aws:dynamodb:ddblocal:000000000000:table/{}"
ACCOUNT: Final = "123456789012"
_CREDENTIAL: Final = re.compile(r"Credential=([^/,\s]+)/")
# TransactWriteItems and TransactGetItems need the action of each item they hold.
_ITEM_ACTIONS: Final = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def caller(authorization: str | None) -> str | None:
    """The access key id of a SigV4 Authorization header."""
    found = _CREDENTIAL.search(authorization or "")
    return found.group(1) if found else None


def requested(operation: str, request: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(IAM action, resource ARN) pairs that one request needs."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        for item in request.get("TransactItems", []):
            for kind, action in item.items():
                yield f"dynamodb:{_ITEM_ACTIONS[kind]}", TABLE_ARN.format(action["TableName"])
    elif operation in ("BatchWriteItem", "BatchGetItem"):
        for table in request.get("RequestItems", {}):
            yield f"dynamodb:{operation}", TABLE_ARN.format(table)
    elif "BackupArn" in request:
        yield f"dynamodb:{operation}", str(request["BackupArn"])
    elif "TableName" in request:
        yield f"dynamodb:{operation}", TABLE_ARN.format(request["TableName"])
    else:
        yield f"dynamodb:{operation}", "*"


class AccessPolicy:
    """The grants of `functions` on `table_name`, from their declarations."""

    def __init__(self, functions: Iterable[Function], table_name: str) -> None:
        table = TABLE_ARN.format(table_name)
        resources = {
            TablePart.TABLE: table,
            TablePart.BACKUPS: f"{table}/backup/*",
            TablePart.SCRATCH_TABLES: scratch_prefix(table) + "*",
        }
        self.grants = {
            function.name: {
                (action, resources.get(grant.on, "*"))
                for grant in function.table_actions
                for action in grant.actions
            }
            for function in functions
        }

    def denial(self, key: str | None, operation: str, body: bytes) -> str | None:
        """Why AWS would refuse this request to the caller signing with `key`; None if
        it would not."""
        grants = self.grants.get(key or "")
        if grants is None:
            return None
        for action, resource in requested(operation, json.loads(body or b"{}")):
            if not any(a == action and fnmatch.fnmatchcase(resource, r) for a, r in grants):
                user = f"arn:aws:sts::{ACCOUNT}:assumed-role/{key}-role/{key}"
                return (
                    f"User: {user} is not authorized to perform: {action} on resource: "
                    f"{resource} because no identity-based policy allows the {action} action"
                )
        return None
