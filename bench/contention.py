"""Benchmark 6: contention on the rollup items, simulated (no AWS, no sleeping).

The aggregator counts a group of picks with one TransactWriteItems: one marker
update per pick and one ADD to a rollup item of the day. With `rollup_parts` P,
each transaction chooses one of the day's P part items uniformly at random.
DynamoDB cancels a transaction (reason TransactionConflict) when another
transaction in flight holds one of its items; the aggregator then retries with
jittered exponential backoff and, after a few attempts, reports the group's
records as failed so that Lambda delivers them again.

This is a discrete-event simulation of exactly that rule, in simulated time and
with a fixed seed: the figures are the same on every machine and a run takes
seconds. Markers are distinct items (one per submission) and never conflict;
the rollup part items are the only shared ones. It prints:

1. writers x parts, every writer always holding a full batch (saturation):
   transaction attempts, the share cancelled by conflicts, retries per counted
   transaction, groups given up, counted picks/s;
2. a few of those cells again at DynamoDB Local's measured latency;
3. the model check: for each load level of docs/CAPACITY.md, on day one and
   after 30 days of data (the stream's shards follow the table's partitions),
   that document's configuration (shards x parallelization_factor writers,
   rollup_parts, batch size, batching window) with picks arriving at that rate
   on the stream (Poisson), read as Lambda reads a shard; then the same
   configuration at saturation, for the headroom; and the configurations it is
   compared with (one rollup item, twice the shards...).

    .venv/bin/python -m bench contention
"""

import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from bench.common import percentile, print_table, write_results

if TYPE_CHECKING:
    from shared.rollups import Backoff

SEED = 16
BATCH_SIZE = 100  # the topology's (run() checks that they agree)
# The picks per transaction (shared.rollups) and the batch size (the topology) are
# imported in run(), once bench/__main__ has put services/ on the path.
INVOKE_SECONDS = 0.010  # the handler's own work per invocation, outside DynamoDB
POLL_SECONDS = 0.25  # Lambda polls a shard about 4 times a second
# GetRecords returns at most 1,000 records; each pick puts two on its shard (the
# INSERT and the marker's MODIFY, which the event filter drops after reading).
PICKS_PER_READ = 1000 // 2

# The model check passes when, at the configuration's load: records are counted
# with p95 lag under the freshness target, the stream does not fall behind, few
# attempts conflict, nothing is given up; and at saturation it has this headroom.
LAG_TARGET_SECONDS = 1.0
CONFLICT_TARGET = 0.10
HEADROOM_TARGET = 2.0
# At low loads a few seconds hold few picks: simulate at least this many.
RECORDS, RECORDS_QUICK = 20_000, 5_000

Process = Generator[float, None, Any]  # yields the simulated seconds it waits


@dataclass(frozen=True)
class Latency:
    """How long a TransactWriteItems takes: a median of base + per-action time,
    spread log-normally (sigma 0.35: p99 about 2.3x the median). A cancelled
    attempt costs one round trip without the work: the base, spread alike."""

    label: str
    base_seconds: float
    per_action_seconds: float
    spread: float = 0.35

    def median(self, actions: int) -> float:
        return self.base_seconds + self.per_action_seconds * actions

    def transaction(self, rng: random.Random, actions: int) -> float:
        return self.median(actions) * rng.lognormvariate(0.0, self.spread)

    def rejection(self, rng: random.Random) -> float:
        return self.base_seconds * rng.lognormvariate(0.0, self.spread)


# Assumed for AWS: ~10 ms for a small request in the Region, ~0.25 ms per action:
# a 100-action transaction takes ~35 ms at the median ("tens of ms").
AWS = Latency("AWS (assumed)", base_seconds=0.010, per_action_seconds=0.00025)
# Measured for issue 12 on DynamoDB Local 3.3.1 (this machine, 20-25k items):
# PutItem p50 5 ms, a 100-action TransactWriteItems p50 84 ms.
DYNAMODB_LOCAL = Latency(
    "DynamoDB Local (measured)", base_seconds=0.005, per_action_seconds=(0.084 - 0.005) / 100
)


@dataclass(frozen=True)
class Configuration:
    """What the deployment decides: the writers (concurrent aggregator invocations,
    shards x parallelization_factor), the rollup parts and the records per batch."""

    shards: int
    parallelization_factor: int
    rollup_parts: int
    batch_size: int
    batching_window_seconds: float = 0.0


@dataclass(frozen=True)
class Plan:
    """One row of docs/CAPACITY.md: a sustained load, the data the table holds (the
    shards follow it), the configuration for it, and others to compare it with."""

    picks_per_second: float
    data: str
    configuration: Configuration
    setting: str  # which settings the row changes from the default
    comparisons: tuple[tuple[str, Configuration], ...] = ()


def _configuration(
    shards: int, parts: int, window: float = 0.0, parallelization_factor: int = 1
) -> Configuration:
    return Configuration(shards, parallelization_factor, parts, BATCH_SIZE, window)


# docs/CAPACITY.md, "Which configuration serves each load": keep the two in step.
# Shards are not a setting: on day one they follow the throughput (1,000 WCU per
# partition); after 30 days the data (about 10 GB per partition, 400 B per pick).
PLANS = (
    Plan(1, "day one", _configuration(1, 1), "free-tier default"),
    Plan(10, "day one", _configuration(1, 1), "on-demand"),
    Plan(100, "day one", _configuration(1, 1), "on-demand"),
    Plan(
        100,
        "30 days",
        _configuration(11, 8),
        "on-demand, rollup_parts 8",
        (("with rollup_parts 1", _configuration(11, 1)),),
    ),
    Plan(
        1_000,
        "day one",
        _configuration(4, 8),
        "on-demand, rollup_parts 8",
        (
            ("with twice the shards", _configuration(8, 8)),
            ("with rollup_parts 1", _configuration(4, 1)),
        ),
    ),
    Plan(
        1_000,
        "30 days",
        _configuration(104, 64),
        "on-demand, rollup_parts 64",
        (("with rollup_parts 8", _configuration(104, 8)),),
    ),
    Plan(
        10_000,
        "day one",
        _configuration(32, 64),
        "on-demand, rollup_parts 64",
        (
            ("with twice the shards", _configuration(64, 64)),
            ("with rollup_parts 1", _configuration(32, 1)),
        ),
    ),
    Plan(
        10_000,
        "30 days",
        _configuration(1_040, 1_024),
        "settings alone: rollup_parts 1024 (the text says what to do instead)",
        (
            ("with rollup_parts 64", _configuration(1_040, 64)),
            ("with rollup_parts 256, 1 s window", _configuration(1_040, 256, window=1.0)),
        ),
    ),
)
WRITERS = (1, 2, 4, 8, 16, 32, 64)
PARTS = (1, 2, 4, 8, 16, 32, 64)
SENSITIVITY = ((4, 1), (4, 4), (16, 4), (16, 16), (32, 32))  # (writers, parts)


class Clock:
    """The event loop: processes are generators that yield how long they wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, Process]] = []
        self._order = itertools.count()

    def start(self, process: Process) -> None:
        heapq.heappush(self._queue, (self.now, next(self._order), process))

    def run(self, until: float) -> None:
        while self._queue and self._queue[0][0] <= until:
            self.now, _, process = heapq.heappop(self._queue)
            try:
                wait = next(process)
            except StopIteration:
                continue
            heapq.heappush(self._queue, (self.now + wait, next(self._order), process))
        self.now = until


@dataclass
class RollupParts:
    """The day's rollup part items, each held by at most one transaction at a time."""

    busy_until: list[float]

    def hold(self, part: int, now: float, seconds: float) -> bool:
        """DynamoDB's rule: a transaction touching an item that another one in
        flight holds is cancelled (TransactionConflict)."""
        if self.busy_until[part] > now:
            return False
        self.busy_until[part] = now + seconds
        return True


@dataclass
class Tally:
    attempts: int = 0
    conflicts: int = 0
    commits: int = 0
    given_up: int = 0
    picks: int = 0
    invocations: int = 0
    transaction_seconds: list[float] = field(default_factory=list)  # first attempt to commit
    lags: list[float] = field(default_factory=list)  # written to counted, per pick


class Source(Protocol):
    """Where a writer's batches come from."""

    def take(self, now: float) -> list[float] | None:
        """The write times of the next batch's records, or None: nothing to read."""

    def next_poll(self, now: float) -> float: ...

    def give_back(self, records: list[float]) -> None:
        """Records reported failed: Lambda delivers them again before newer ones."""


@dataclass
class Saturated:
    """A stream that always has a full batch waiting: the writers' capacity."""

    batch_size: int

    def take(self, now: float) -> list[float] | None:
        return [now] * self.batch_size

    def next_poll(self, now: float) -> float:
        return now

    def give_back(self, records: list[float]) -> None:
        """Saturation has more records than the writers take: nothing to keep."""


@dataclass
class Shard:
    """One stream shard with Poisson arrivals, read as Lambda reads it: at most one
    GetRecords every POLL_SECONDS (+-20 %, from a phase of its own), of at most
    PICKS_PER_READ picks; a batch goes to a free writer of the shard when it is
    full or when the batching window, opened by its first record, has passed."""

    rate: float
    batch_size: int
    window: float
    rng: random.Random
    unread: deque[float] = field(default_factory=deque)  # written, not yet read
    read: deque[float] = field(default_factory=deque)  # read, not yet in a batch
    redelivery: deque[list[float]] = field(default_factory=deque)
    next_arrival: float = 0.0
    next_read: float = 0.0
    window_ends: float = 0.0
    arrived: int = 0  # picks written so far (up to the last look at the clock)

    def __post_init__(self) -> None:
        self.next_arrival = self.rng.expovariate(self.rate)
        self.next_read = self.rng.uniform(0.0, POLL_SECONDS)

    def take(self, now: float) -> list[float] | None:
        if self.redelivery:
            return self.redelivery.popleft()
        if now >= self.next_read and len(self.read) < self.batch_size:
            self._get_records(now)
        if not self.read or (len(self.read) < self.batch_size and now < self.window_ends):
            return None
        count = min(self.batch_size, len(self.read))
        return [self.read.popleft() for _ in range(count)]

    def written(self, now: float) -> int:
        """How many picks have been written to the shard by `now`."""
        while self.next_arrival <= now:
            self.unread.append(self.next_arrival)
            self.arrived += 1
            self.next_arrival += self.rng.expovariate(self.rate)
        return self.arrived

    def _get_records(self, now: float) -> None:
        self.written(now)
        if not self.read and self.unread:
            self.window_ends = now + self.window
        for _ in range(min(PICKS_PER_READ, len(self.unread))):
            self.read.append(self.unread.popleft())
        # Pollers are independent: no two shards stay in step.
        self.next_read = now + POLL_SECONDS * self.rng.uniform(0.8, 1.2)

    def next_poll(self, now: float) -> float:
        if self.read:
            return max(now, min(self.next_read, self.window_ends))
        return max(now, self.next_read)

    def give_back(self, records: list[float]) -> None:
        self.redelivery.append(records)


@dataclass(frozen=True)
class Simulation:
    latency: Latency
    backoff: "Backoff"  # the aggregator's (shared.rollups)
    group_size: int  # picks per transaction at most (MAX_PICKS_PER_TRANSACTION)

    def run(
        self,
        configuration: Configuration,
        seconds: float,
        picks_per_second: float | None = None,
        seed: int = SEED,
    ) -> dict[str, Any]:
        """Simulate `seconds`; None: saturation, else Poisson arrivals at that rate."""
        rng = random.Random(seed)
        clock = Clock()
        parts = RollupParts([0.0] * configuration.rollup_parts)
        tally = Tally()
        shards: list[Shard] = []
        for _ in range(configuration.shards):
            source: Source
            if picks_per_second is None:
                source = Saturated(configuration.batch_size)
            else:
                shard = Shard(
                    picks_per_second / configuration.shards,
                    configuration.batch_size,
                    configuration.batching_window_seconds,
                    rng,
                )
                shards.append(shard)
                source = shard
            for _ in range(configuration.parallelization_factor):
                clock.start(self._writer(clock, source, parts, tally, rng))
        clock.run(seconds)
        backlog = sum(s.written(seconds) for s in shards) - tally.picks
        return _figures(tally, seconds, max(0, backlog))

    def _writer(
        self, clock: Clock, source: Source, parts: RollupParts, tally: Tally, rng: random.Random
    ) -> Process:
        """One aggregator lane: poll, invoke, count each group in one transaction."""
        track_lag = not isinstance(source, Saturated)
        while True:
            batch = source.take(clock.now)
            if batch is None:
                yield source.next_poll(clock.now) - clock.now
                continue
            tally.invocations += 1
            yield INVOKE_SECONDS
            for start in range(0, len(batch), self.group_size):
                group = batch[start : start + self.group_size]
                counted = yield from self._transaction(clock, len(group), parts, tally, rng)
                if not counted:
                    source.give_back(group)
                    continue
                tally.picks += len(group)
                if track_lag:
                    tally.lags.extend(clock.now - written for written in group)

    def _transaction(
        self, clock: Clock, picks: int, parts: RollupParts, tally: Tally, rng: random.Random
    ) -> Generator[float, None, bool]:
        started = clock.now
        for attempt in range(1, self.backoff.attempts + 1):
            tally.attempts += 1
            part = rng.randrange(len(parts.busy_until))
            seconds = self.latency.transaction(rng, picks + 1)
            if parts.hold(part, clock.now, seconds):
                yield seconds
                tally.commits += 1
                tally.transaction_seconds.append(clock.now - started)
                return True
            tally.conflicts += 1
            yield self.latency.rejection(rng)
            if attempt < self.backoff.attempts:
                # Full jitter up to first x 2^(attempt - 1), capped.
                yield rng.uniform(0.0, self.backoff.ceiling(attempt - 1))
        tally.given_up += 1
        return False


def _grid(simulation: Simulation, batch_size: int, seconds: float) -> list[dict[str, Any]]:
    cells = []
    for writers in WRITERS:
        for parts in PARTS:
            outcome = simulation.run(Configuration(writers, 1, parts, batch_size), seconds)
            cells.append({"writers": writers, "rollup_parts": parts, **outcome})
    return cells


def _figures(tally: Tally, seconds: float, backlog: int) -> dict[str, Any]:
    """A run's figures; `backlog`: records written but not counted when it ends."""
    return {
        "attempts_per_second": tally.attempts / seconds,
        "conflict_rate": tally.conflicts / tally.attempts if tally.attempts else 0.0,
        "retries_per_transaction": tally.conflicts / tally.commits if tally.commits else 0.0,
        "given_up": tally.given_up,
        "picks_per_transaction": tally.picks / tally.commits if tally.commits else 0.0,
        "counted_picks_per_second": tally.picks / seconds,
        "transaction_p95_seconds": percentile(tally.transaction_seconds, 95)
        if tally.transaction_seconds
        else 0.0,
        "invocations_per_second": tally.invocations / seconds,
        "lag_p50_seconds": percentile(tally.lags, 50) if tally.lags else None,
        "lag_p95_seconds": percentile(tally.lags, 95) if tally.lags else None,
        "backlog_records": backlog,
    }


def _grid_rows(cells: Sequence[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for c in cells:
        yield (
            c["writers"],
            c["rollup_parts"],
            round(c["attempts_per_second"]),
            f"{c['conflict_rate']:.1%}",
            round(c["retries_per_transaction"], 2),
            c["given_up"],
            round(c["counted_picks_per_second"]),
            c["transaction_p95_seconds"] * 1000,
        )


def _print_pivot(
    title: str, cells: Sequence[dict[str, Any]], cell: Callable[[dict[str, Any]], str]
) -> None:
    """One figure of the grid: a row per number of writers, a column per number of parts."""
    by_key = {(c["writers"], c["rollup_parts"]): c for c in cells}
    print_table(
        title,
        ("writers \\ parts", *(str(p) for p in PARTS)),
        [(w, *(cell(by_key[w, p]) for p in PARTS)) for w in WRITERS],
    )


GRID_HEADERS = (
    "writers",
    "parts",
    "attempts/s",
    "conflicts",
    "retries/tx",
    "given up",
    "counted picks/s",
    "tx p95 ms",
)


def _check(plan: Plan, at_load: dict[str, Any], saturated: dict[str, Any]) -> dict[str, Any]:
    headroom = saturated["counted_picks_per_second"] / plan.picks_per_second
    lag = at_load["lag_p95_seconds"]
    findings = {
        "lag": lag is not None and lag < LAG_TARGET_SECONDS,
        "keeps up": at_load["backlog_records"] <= plan.picks_per_second * LAG_TARGET_SECONDS,
        "conflicts": at_load["conflict_rate"] < CONFLICT_TARGET,
        "nothing given up": at_load["given_up"] == 0,
        "headroom": headroom >= HEADROOM_TARGET,
    }
    failed = [name for name, ok in findings.items() if not ok]
    return {"headroom": headroom, "passed": not failed, "failed": failed}


def run(quick: bool = False) -> dict[str, Any]:
    from infra.topology import STREAM_CONSUMER
    from shared.rollups import MAX_PICKS_PER_TRANSACTION, Backoff

    grid_seconds, check_seconds = (10.0, 5.0) if quick else (20.0, 10.0)
    backoff = Backoff()
    batch_size = STREAM_CONSUMER.batch_size
    if batch_size != BATCH_SIZE:
        raise RuntimeError(f"the topology's batch size is {batch_size}, the plans' {BATCH_SIZE}")
    simulations = {
        latency.label: Simulation(latency, backoff, MAX_PICKS_PER_TRANSACTION)
        for latency in (AWS, DYNAMODB_LOCAL)
    }
    _print_assumptions(backoff, MAX_PICKS_PER_TRANSACTION + 1)

    aws = simulations[AWS.label]
    grid = _grid(aws, batch_size, grid_seconds)
    _print_grid(grid, backoff, batch_size, MAX_PICKS_PER_TRANSACTION, grid_seconds)

    local = simulations[DYNAMODB_LOCAL.label]
    sensitivity = [
        {
            "writers": writers,
            "rollup_parts": parts,
            **local.run(Configuration(writers, 1, parts, batch_size), grid_seconds),
        }
        for writers, parts in SENSITIVITY
    ]
    print_table(
        f"6b. the same at {DYNAMODB_LOCAL.label} latency", GRID_HEADERS, _grid_rows(sensitivity)
    )

    records = RECORDS_QUICK if quick else RECORDS
    checks = _model_checks(aws, records, check_seconds, grid_seconds)
    _print_checks(checks, records, check_seconds)
    figures = {
        "seed": SEED,
        "latency": {s.latency.label: s.latency.__dict__ for s in simulations.values()},
        "backoff": {"first": backoff.first, "cap": backoff.cap, "attempts": backoff.attempts},
        "invoke_seconds": INVOKE_SECONDS,
        "poll_seconds": POLL_SECONDS,
        "targets": {
            "lag_p95_seconds": LAG_TARGET_SECONDS,
            "conflict_rate": CONFLICT_TARGET,
            "headroom": HEADROOM_TARGET,
        },
        "grid": grid,
        "sensitivity": sensitivity,
        "model_check": checks,
    }
    write_results("contention", figures)
    return figures


def _print_assumptions(backoff: "Backoff", actions: int) -> None:
    print(
        f"\nAssumed: TransactWriteItems {AWS.median(actions) * 1000:.0f} ms"
        f" median for {actions} actions on AWS"
        f" ({AWS.base_seconds * 1000:g} ms + {AWS.per_action_seconds * 1000:g} ms per action),"
        f" {DYNAMODB_LOCAL.median(actions) * 1000:.0f} ms on DynamoDB Local"
        f" (measured); backoff full jitter {backoff.first * 1000:g} ms x 2^n, cap"
        f" {backoff.cap:g} s, {backoff.attempts} attempts; {INVOKE_SECONDS * 1000:g} ms"
        f" per invocation; seed {SEED}."
    )


def _print_grid(
    grid: Sequence[dict[str, Any]],
    backoff: "Backoff",
    batch_size: int,
    picks_per_transaction: int,
    grid_seconds: float,
) -> None:
    about = (
        f"batches of {batch_size} ({picks_per_transaction} picks per transaction at most),"
        f" {AWS.label} latency, {grid_seconds:g} s simulated per cell"
    )
    _print_pivot(
        f"6. contention at saturation, writers x rollup parts: share of transaction attempts"
        f" cancelled by a conflict; {about}",
        grid,
        lambda c: f"{c['conflict_rate']:.1%}",
    )
    _print_pivot(
        "6. retries per counted transaction (groups given up after"
        f" {backoff.attempts} attempts, then delivered again)",
        grid,
        lambda c: (
            f"{c['retries_per_transaction']:.2f}"
            + (f" ({c['given_up']:,})" if c["given_up"] else "")
        ),
    )
    _print_pivot(
        "6. counted picks/s (the writers' capacity)",
        grid,
        lambda c: f"{c['counted_picks_per_second']:,.0f}",
    )


def _model_checks(
    aws: Simulation, records: int, check_seconds: float, grid_seconds: float
) -> list[dict[str, Any]]:
    """Each plan of docs/CAPACITY.md (and its comparisons) at its load, then saturated."""
    checks = []
    for plan in PLANS:
        for variant, configuration in (("as planned", plan.configuration), *plan.comparisons):
            seconds = max(check_seconds, records / plan.picks_per_second)
            at_load = aws.run(configuration, seconds, plan.picks_per_second)
            # Saturation is steady within a few seconds; many writers make it slow.
            writers = configuration.shards * configuration.parallelization_factor
            saturated = aws.run(configuration, grid_seconds * min(1.0, 64 / writers))
            checks.append(
                {
                    "picks_per_second": plan.picks_per_second,
                    "data": plan.data,
                    "setting": plan.setting,
                    "variant": variant,
                    "simulated_seconds": seconds,
                    **configuration.__dict__,
                    "at_load": at_load,
                    "saturated": saturated,
                    **_check(plan, at_load, saturated),
                }
            )
    return checks


CHECK_HEADERS: Final = (
    "picks/s",
    "data",
    "configuration",
    "shards x pf",
    "parts",
    "counted/s",
    "invocations/s",
    "picks/tx",
    "conflicts",
    "lag p50 ms",
    "lag p95 ms",
    "capacity/s",
    "headroom",
    "check",
)


def _check_row(c: dict[str, Any]) -> tuple[Any, ...]:
    at_load = c["at_load"]
    return (
        c["picks_per_second"],
        c["data"],
        c["variant"],
        f"{c['shards']:,} x {c['parallelization_factor']}",
        c["rollup_parts"],
        f"{at_load['counted_picks_per_second']:,.1f}",
        f"{at_load['invocations_per_second']:,.1f}",
        f"{at_load['picks_per_transaction']:.1f}",
        f"{at_load['conflict_rate']:.1%}",
        _milliseconds(at_load["lag_p50_seconds"]),
        _milliseconds(at_load["lag_p95_seconds"]),
        round(c["saturated"]["counted_picks_per_second"]),
        f"{c['headroom']:,.1f}x",
        "ok" if c["passed"] else "FAILED",
    )


def _print_checks(checks: Sequence[dict[str, Any]], records: int, check_seconds: float) -> None:
    print_table(
        f"6c. model check: docs/CAPACITY.md's configuration per load and data, Poisson"
        f" arrivals at that load for {check_seconds:g} s or {records:,} picks, whichever is"
        f" longer ({AWS.label} latency); capacity: the same at saturation",
        CHECK_HEADERS,
        [_check_row(c) for c in checks],
    )
    for plan in PLANS:
        verdicts = [
            f"{c['variant']}: " + ("ok" if c["passed"] else f"FAILED ({', '.join(c['failed'])})")
            for c in checks
            if (c["picks_per_second"], c["data"]) == (plan.picks_per_second, plan.data)
        ]
        print(
            f"  model check {plan.picks_per_second:>6,g} picks/s, {plan.data}, {plan.setting}: "
            + "; ".join(verdicts)
        )


def _milliseconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f}"
