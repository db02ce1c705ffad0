"""IAM for the local AWS endpoint: each function may call only the table actions its
declaration grants (infra/topology.py `table_actions`), as its role allows in AWS:
on the items of its own families only, where the declaration names them.

A caller is known by the access key id it signs with: a function's is its name
(`infra.local.runtime`); any other key (the stack, the CLIs, the tests) is an
operator's, with full access. A refusal is AWS's: HTTP 400 AccessDeniedException.
"""

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from backup.drill_settings import scratch_prefix
from infra.topology import TABLE, Function, TablePart

# DynamoDB Local's own ARNs (region ddblocal, account 000000000000), so a grant on a
# table's backups matches the backup ARNs the endpoint hands out.
TABLE_ARN: Final = "arn:aws:dynamodb:ddblocal:000000000000:table/{}"
ACCOUNT: Final = "123456789012"
_CREDENTIAL: Final = re.compile(r"Credential=([^/,\s]+)/")
# One equality of a key condition: `pk = :pk` or `#pk = :pk`.
_EQUALITY: Final = re.compile(r"(#?\w+)\s*=\s*(:\w+)")
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


def _key_value(attribute: dict[str, Any]) -> str:
    """A key attribute's value (`{"S": "SUB#1"}`: "SUB#1")."""
    return str(next(iter(attribute.values())))


def _queried_partition(request: dict[str, Any]) -> Iterator[str]:
    """The partition key value a Query's key condition names."""
    names = request.get("ExpressionAttributeNames", {})
    values = request.get("ExpressionAttributeValues", {})
    for name, placeholder in _EQUALITY.findall(request.get("KeyConditionExpression", "")):
        if names.get(name, name) == TABLE.partition_key and placeholder in values:
            yield _key_value(values[placeholder])
    for name, condition in request.get("KeyConditions", {}).items():
        if name == TABLE.partition_key:
            yield from map(_key_value, condition.get("AttributeValueList", []))


def leading_keys(request: dict[str, Any]) -> frozenset[str]:
    """IAM's `dynamodb:LeadingKeys` of one request (or one item of a transaction or a
    batch): the partition key values it touches; none for a Scan or a table action."""
    found: set[str] = set()
    for field in ("Item", "Key"):
        if field in request:
            found.add(_key_value(request[field][TABLE.partition_key]))
    for key in request.get("Keys", []):
        found.add(_key_value(key[TABLE.partition_key]))
    found.update(_queried_partition(request))
    return frozenset(found)


def _batch_keys(items: Any) -> frozenset[str]:
    """The leading keys of one table's BatchWriteItem requests or BatchGetItem keys."""
    if isinstance(items, dict):  # BatchGetItem: {"Keys": [...]}
        return leading_keys(items)
    return frozenset().union(*(leading_keys(r) for item in items for r in item.values()))


def requested(operation: str, request: dict[str, Any]) -> Iterator[tuple[str, str, frozenset[str]]]:
    """(IAM action, resource ARN, leading keys) triples that one request needs."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        for item in request.get("TransactItems", []):
            for kind, action in item.items():
                table = TABLE_ARN.format(action["TableName"])
                yield f"dynamodb:{_ITEM_ACTIONS[kind]}", table, leading_keys(action)
    elif operation in ("BatchWriteItem", "BatchGetItem"):
        for table, items in request.get("RequestItems", {}).items():
            yield f"dynamodb:{operation}", TABLE_ARN.format(table), _batch_keys(items)
    elif "BackupArn" in request:
        yield f"dynamodb:{operation}", str(request["BackupArn"]), frozenset()
    elif "TableName" in request:
        table = TABLE_ARN.format(request["TableName"])
        yield f"dynamodb:{operation}", table, leading_keys(request)
    else:
        yield f"dynamodb:{operation}", "*", frozenset()


@dataclass(frozen=True)
class Grant:
    """One allowed action on one resource, on the items of `leading_keys` prefixes
    only when it names some (the CDK app's `dynamodb:LeadingKeys` condition, which a
    request touching no item fails)."""

    action: str
    resource: str
    leading_keys: tuple[str, ...] = ()

    def allows(self, action: str, resource: str, keys: frozenset[str]) -> bool:
        if action != self.action or not fnmatch.fnmatchcase(resource, self.resource):
            return False
        if not self.leading_keys:
            return True
        return bool(keys) and all(key.startswith(self.leading_keys) for key in keys)


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
                Grant(action, resources.get(grant.on, "*"), grant.leading_keys)
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
        for action, resource, keys in requested(operation, json.loads(body or b"{}")):
            if not any(grant.allows(action, resource, keys) for grant in grants):
                user = f"arn:aws:sts::{ACCOUNT}:assumed-role/{key}-role/{key}"
                return (
                    f"User: {user} is not authorized to perform: {action} on resource: "
                    f"{resource} because no identity-based policy allows the {action} action"
                )
        return None
