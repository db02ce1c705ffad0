"""What one API call costs the table, in capacity units: the arithmetic behind the
costs the routes declare (infra/topology.py), against which synthesis checks each
environment's throttles and provisioned capacity (infra/environments.py)."""

import math
from datetime import date, timedelta
from typing import Final

from shared.histogram import NUMBERS
from shared.rollups import KEY_PREFIX
from shared.schemas import MAX_RANGE_DAYS

# What one request costs the table, measured (bench/write_units.py, docs/ARCHITECTURE.md):
# an accepted pick writes 1 unit (raw item) + 2 (its marker, in the aggregator's
# transaction) + 2/n (the rollup, shared by the n picks of a batch). At the rates a
# free-tier table sustains a batch holds about one pick, so n = 1: 5 units (3.04 only
# with batches of 100).
WRITE_UNITS_PER_PICK: Final = 5.0

# A daily-stats request reads one eventually consistent Query per calendar month of its
# range (services/shared/rollups.py), each billed 0.5 unit per 4 KB of items, rounded
# up and 0.5 at least. Priced for the longest range the API allows (MAX_RANGE_DAYS),
# not the default 7 days: anyone may ask for it.
READ_UNIT_BYTES: Final = 4096
EVENTUAL_READ_UNIT: Final = 0.5
# A day's count of one number stays below 10^8: a free-tier table admits at most
# 25 / 5 picks/s, 432,000 a day.
MAX_COUNT_DIGITS: Final = 8
_LONGEST_MONTH: Final = 31

# The averages a monthly design load is spread over (docs/COSTS.md).
SECONDS_PER_MONTH: Final = 30 * 86_400


def rollup_item_bytes(parts: int) -> int:
    """The largest rollup item as DynamoDB sizes it (attribute names plus values; a
    number is 1 byte plus 1 per two digits): pk, sk with its part, n1..n10."""
    keys = len("pk") + len(f"{KEY_PREFIX}YYYY-MM") + len("sk") + len("YYYY-MM-DD")
    if parts > 1:
        keys += len(f"#{parts - 1}")
    number = 1 + math.ceil(MAX_COUNT_DIGITS / 2)
    return keys + sum(len(f"n{n}") + number for n in NUMBERS)


def most_months(days: int) -> int:
    """The most calendar months a range of `days` days touches (over a leap cycle)."""

    def touched(first: date) -> int:
        last = first + timedelta(days=days - 1)
        return (last.year - first.year) * 12 + last.month - first.month + 1

    return max(touched(date(2024, 1, 1) + timedelta(days=i)) for i in range(4 * 365 + 1))


def stats_request_read_units(parts: int) -> float:
    """Read units of the costliest daily-stats request: MAX_RANGE_DAYS days, each of
    its months a Query of up to 31 days of `parts` rollup items."""
    month_bytes = _LONGEST_MONTH * parts * rollup_item_bytes(parts)
    per_query = max(1, math.ceil(month_bytes / READ_UNIT_BYTES)) * EVENTUAL_READ_UNIT
    return most_months(MAX_RANGE_DAYS) * per_query
