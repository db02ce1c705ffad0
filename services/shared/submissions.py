"""The submission store: raw submissions, one item each. Owns their key format.

Item: pk = SUB#<id>, sk = SUB; number, date (UTC day of receipt), received_at,
optional client_timestamp and location, body_hash (idempotent replays) and
aggregated_at, the marker the aggregator sets when the rollup has counted it.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX: Final = "SUB#"
SORT_KEY: Final = "SUB"
MARKER: Final = "aggregated_at"


def submission_key(submission_id: str) -> dict[str, Any]:
    return {"pk": {"S": KEY_PREFIX + submission_id}, "sk": {"S": SORT_KEY}}


def is_submission_key(key: Mapping[str, Any]) -> bool:
    """Whether a key (or an item, or a stream record's Keys) is a submission's."""
    return bool(key["pk"]["S"].startswith(KEY_PREFIX))


@dataclass(frozen=True)
class Pick:
    """One submission as the rollups count it: which one, its UTC day (ISO), its
    number, and whether it carries the aggregation marker (the rollup counted it)."""

    submission_id: str
    date: str
    number: int
    counted: bool = False


@dataclass(frozen=True)
class Submission:
    """One submission as stored: its pick, and how it was received."""

    pick: Pick
    received_at: str
    body_hash: str
    client_timestamp: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None

    def public(self) -> dict[str, Any]:
        """What the API answers about a submission."""
        return {"id": self.pick.submission_id, "date": self.pick.date, "number": self.pick.number}


@dataclass
class DayOfPicks:
    """One day's stored submissions, split by whether its rollup counted them."""

    counted: list[Pick] = field(default_factory=list)
    uncounted: list[Pick] = field(default_factory=list)

    @property
    def counted_numbers(self) -> list[int]:
        return [pick.number for pick in self.counted]

    @property
    def uncounted_numbers(self) -> list[int]:
        return [pick.number for pick in self.uncounted]


def picks_by_day(picks: Iterable[Pick]) -> dict[str, DayOfPicks]:
    """The picks grouped by ISO day, counted and uncounted apart."""
    days: dict[str, DayOfPicks] = {}
    for pick in picks:
        day = days.setdefault(pick.date, DayOfPicks())
        (day.counted if pick.counted else day.uncounted).append(pick)
    return days


class SubmissionStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, submission: Submission) -> Submission | None:
        """Store a new submission and return None; if its id is taken, write nothing and
        return the submission stored under it. The failed condition returns the stored
        item itself: a replay costs no read (and no read capacity), and nothing can
        change between the write and a read."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=submission_item(submission),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as failed:
            # ALL_OLD puts the stored item in the error response (botocore's types omit it)
            stored: dict[str, Any] = failed.response["Item"]  # type: ignore[typeddict-item]
            return submission_from_item(stored)
        return None

    def get(self, submission_id: str) -> Submission | None:
        item = self._client.get_item(
            TableName=self._table, Key=submission_key(submission_id), ConsistentRead=True
        ).get("Item")
        return submission_from_item(item) if item else None

    def scan_picks(self, first: str, last: str) -> Iterator[Pick]:
        """Every submission received on a day in [first, last] (ISO days).

        A paginated, strongly consistent Scan of the whole table, since nothing indexes
        submissions by date: it reads (and pays for) every item, so it is for
        operator commands, never for requests.
        """
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._table,
            ConsistentRead=True,
            FilterExpression="begins_with(pk, :prefix) AND #date BETWEEN :first AND :last",
            ProjectionExpression="pk, #date, #number, #marker",
            ExpressionAttributeNames={"#date": "date", "#number": "number", "#marker": MARKER},
            ExpressionAttributeValues={
                ":prefix": {"S": KEY_PREFIX},
                ":first": {"S": first},
                ":last": {"S": last},
            },
        )
        for page in pages:
            yield from map(pick_from_item, page.get("Items", []))


def submission_item(s: Submission) -> dict[str, Any]:
    """The DynamoDB item of a submission: the one place its shape is written. The
    marker is not: only the aggregator sets it, as it counts the submission."""
    item: dict[str, Any] = {
        **submission_key(s.pick.submission_id),
        "number": {"N": str(s.pick.number)},
        "date": {"S": s.pick.date},
        "received_at": {"S": s.received_at},
        "body_hash": {"S": s.body_hash},
    }
    if s.client_timestamp is not None:
        item["client_timestamp"] = {"S": s.client_timestamp}
    if s.latitude is not None and s.longitude is not None:
        item["location"] = {
            "M": {"latitude": {"N": str(s.latitude)}, "longitude": {"N": str(s.longitude)}}
        }
    return item


def pick_from_item(item: Mapping[str, Any]) -> Pick:
    """The pick of a submission's item (or stream image): its key, date, number and
    marker are all it reads."""
    return Pick(
        submission_id=item["pk"]["S"].removeprefix(KEY_PREFIX),
        date=item["date"]["S"],
        number=int(item["number"]["N"]),
        counted=MARKER in item,
    )


def submission_from_item(item: Mapping[str, Any]) -> Submission:
    """The submission a `submission_item` stored."""
    location = item.get("location", {}).get("M")
    return Submission(
        pick_from_item(item),
        received_at=item["received_at"]["S"],
        body_hash=item["body_hash"]["S"],
        client_timestamp=item.get("client_timestamp", {}).get("S"),
        latitude=Decimal(location["latitude"]["N"]) if location else None,
        longitude=Decimal(location["longitude"]["N"]) if location else None,
    )
