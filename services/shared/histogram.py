"""Histogram maths: every statistic derives exactly from counts per picked number.

Histograms add, so rollups are commutative: any grouping of submissions into
rollup items (per day, per write-shard, per batch) merges to the same answer.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.schemas import NUMBER_MAX, NUMBER_MIN

NUMBERS = range(NUMBER_MIN, NUMBER_MAX + 1)


@dataclass(frozen=True, slots=True)
class Histogram:
    """How many times each number from 1 to 10 was picked."""

    counts: tuple[int, ...] = (0,) * len(NUMBERS)

    def __post_init__(self) -> None:
        if len(self.counts) != len(NUMBERS) or any(c < 0 for c in self.counts):
            raise ValueError(f"a histogram holds {len(NUMBERS)} non-negative counts")

    @classmethod
    def of(cls, numbers: Iterable[int]) -> "Histogram":
        counts = [0] * len(NUMBERS)
        for number in numbers:
            counts[number - NUMBER_MIN] += 1
        return cls(tuple(counts))

    @classmethod
    def from_mapping(cls, counts: Mapping[int, int]) -> "Histogram":
        return cls(tuple(int(counts.get(n, 0)) for n in NUMBERS))

    def __add__(self, other: "Histogram") -> "Histogram":
        return Histogram(tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)))

    def __getitem__(self, number: int) -> int:
        return self.counts[number - NUMBER_MIN]

    def items(self) -> Iterable[tuple[int, int]]:
        return zip(NUMBERS, self.counts, strict=True)

    @property
    def count(self) -> int:
        return sum(self.counts)

    @property
    def total(self) -> int:
        return sum(n * c for n, c in self.items())

    def _nth(self, index: int) -> int:
        """The number at 0-based position `index` of the sorted picks."""
        seen = 0
        for number, count in self.items():
            seen += count
            if index < seen:
                return number
        raise IndexError(index)

    def stats(self) -> dict[str, Any]:
        """count, sum, mean, min, max, mode, median and the histogram itself.

        mode: the most picked number, ties to the smaller; every statistic but
        count, sum and histogram is null for an empty histogram.
        """
        n = self.count
        histogram = {str(number): count for number, count in self.items()}
        if n == 0:
            return {
                "count": 0,
                "sum": 0,
                "mean": None,
                "min": None,
                "max": None,
                "mode": None,
                "median": None,
                "histogram": histogram,
            }
        picked = [number for number, count in self.items() if count]
        middle = (self._nth((n - 1) // 2) + self._nth(n // 2)) / 2
        return {
            "count": n,
            "sum": self.total,
            "mean": round(self.total / n, 4),
            "min": picked[0],
            "max": picked[-1],
            "mode": max(NUMBERS, key=lambda number: (self[number], -number)),
            "median": int(middle) if middle.is_integer() else middle,
            "histogram": histogram,
        }
