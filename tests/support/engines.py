"""The two DynamoDB engines the data-access tests run on.

- `moto`: in memory, in process, lenient: it accepts some requests DynamoDB
  refuses (e.g. a `BETWEEN` whose bounds are the wrong way round).
- `dynamodb-local`: AWS's own engine (`infra.local.aws_endpoint`, in memory),
  the one the local stack runs on. Where the two disagree, it decides.

STORE_ENGINES=moto (comma-separated names) narrows the choice, e.g. for
`make mutation`, which runs the tests once per mutant.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from infra.topology import TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MOTO: Final = "moto"
DYNAMODB_LOCAL: Final = "dynamodb-local"
ENGINES: Final = (MOTO, DYNAMODB_LOCAL)


def store_engines() -> list[str]:
    """The engines chosen by STORE_ENGINES (all of them by default)."""
    chosen = [e.strip() for e in os.environ.get("STORE_ENGINES", "").split(",") if e.strip()]
    unknown = set(chosen) - set(ENGINES)
    if unknown:
        raise ValueError(f"STORE_ENGINES: unknown engines {sorted(unknown)}; known: {ENGINES}")
    return chosen or list(ENGINES)


@contextmanager
def fresh_table(client: "DynamoDBClient", name: str) -> Iterator["DynamoDBClient"]:
    """The app's table (without its stream), created for one test and deleted after."""
    request = TABLE.create_table_request(name)
    del request["StreamSpecification"]
    client.create_table(**request)
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    try:
        yield client
    finally:
        client.delete_table(TableName=name)
