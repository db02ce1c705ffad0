"""`make demo` (`python -m infra.local.demo`): a realistic history for the running
local stack, so a first run shows charts, and volume for the benchmarks.

Raw submissions go straight into the table (as an operator's
`aws dynamodb batch-write-item` import would), spread over the last DAYS days
with a plausible shape: more picks on weekdays, a day-to-day wobble, and the
well-known human bias towards 7 and 3. The stream then counts them, exactly as
it counts submissions made through the API.
"""

import argparse
import hashlib
import random
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from infra.local.aws_endpoint import dynamodb
from infra.local.stack import read_state, use_running_stack
from shared.submissions import Pick, Submission, submission_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# How often people pick each number when asked for "a random number from 1 to 10".
PICK_WEIGHTS: Final = (4, 6, 13, 9, 9, 8, 24, 10, 9, 8)
WEEKEND_FACTOR: Final = 0.6
BATCH_WRITE_LIMIT: Final = 25
WRITERS: Final = 4


@dataclass(frozen=True)
class Seeded:
    submissions: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.submissions / self.seconds if self.seconds else 0.0


def history(count: int, days: int, today: date, seed: int = 2026) -> Iterator[Submission]:
    """`count` submissions over the `days` days ending `today`, oldest day first."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    span = [today - timedelta(days=days - 1 - n) for n in range(days)]
    weights = [(WEEKEND_FACTOR if d.weekday() >= 5 else 1.0) * rng.uniform(0.7, 1.3) for d in span]
    per_day = [int(count * w / sum(weights)) for w in weights]
    per_day[-1] += count - sum(per_day)
    for day, picks in zip(span, per_day, strict=True):
        for _ in range(picks):
            number = rng.choices(range(1, 11), PICK_WEIGHTS)[0]
            received = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                seconds=rng.uniform(0, 86_399)
            )
            body = f'{{"number":{number}}}'.encode()
            yield Submission(
                # A new id, never an existing one: a second demo adds.
                Pick(uuid.uuid4().hex, day.isoformat(), number),
                received_at=received.isoformat(timespec="milliseconds"),
                body_hash=hashlib.sha256(body).hexdigest(),
            )


def seed(
    client: "DynamoDBClient",
    table: str,
    submissions: Sequence[Submission],
    progress: bool = False,
    budget_seconds: float | None = None,
) -> Seeded:
    """Write the submissions with BatchWriteItem from a few threads, as an import would;
    with a budget, stop starting batches once it is spent (benchmarks of slow engines)."""
    batches = [
        submissions[i : i + BATCH_WRITE_LIMIT]
        for i in range(0, len(submissions), BATCH_WRITE_LIMIT)
    ]
    written = 0
    lock = threading.Lock()
    start = time.perf_counter()

    def write(batch: Sequence[Submission]) -> None:
        nonlocal written
        if budget_seconds is not None and time.perf_counter() - start > budget_seconds:
            return
        pending: Any = {table: [{"PutRequest": {"Item": submission_item(s)}} for s in batch]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        with lock:
            written += len(batch)
            if progress and written % 5_000 < BATCH_WRITE_LIMIT:
                print(f"  {written:,} of {len(submissions):,}", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, batches))
    return Seeded(written, time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.demo", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(".local"))
    parser.add_argument("-n", "--submissions", type=int, default=3_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026, help="repeatable picks and times")
    args = parser.parse_args(argv)
    if args.submissions < 0 or not 1 <= args.days <= 366:
        parser.error("N must be >= 0 and DAYS between 1 and 366")
    state = read_state(args.data_dir)
    use_running_stack(state)
    client = dynamodb(state["endpoint_url"])
    today = datetime.now(UTC).date()
    submissions = list(history(args.submissions, args.days, today, args.seed))
    seeded = seed(client, state["table_name"], submissions, progress=True)
    print(
        f"seeded {seeded.submissions:,} submissions over {args.days} days "
        f"in {seeded.seconds:.1f} s ({seeded.per_second:,.0f}/s); the stream is counting "
        f"them now: open {state['app_url']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
