"""Histogram maths: every statistic derives exactly from the counts."""

import pytest

from shared.histogram import Histogram

EVERY_KEY = [str(n) for n in range(1, 11)]


def test_empty_histogram_has_zero_count_and_null_statistics() -> None:
    stats = Histogram().stats()

    assert stats == {
        "count": 0,
        "sum": 0,
        "mean": None,
        "min": None,
        "max": None,
        "mode": None,
        "median": None,
        "histogram": dict.fromkeys(EVERY_KEY, 0),
    }


def test_every_statistic_of_a_known_sample() -> None:
    stats = Histogram.of([2, 3, 3, 7, 10]).stats()

    assert stats["count"] == 5
    assert stats["sum"] == 25
    assert stats["mean"] == 5.0
    assert stats["min"] == 2
    assert stats["max"] == 10
    assert stats["mode"] == 3
    assert stats["median"] == 3
    assert stats["histogram"] == {**dict.fromkeys(EVERY_KEY, 0), "2": 1, "3": 2, "7": 1, "10": 1}


def test_histogram_keys_are_one_to_ten_in_order() -> None:
    assert list(Histogram.of([5]).stats()["histogram"]) == EVERY_KEY


@pytest.mark.parametrize(
    ("picks", "mode"),
    [
        ([4, 9], 4),
        ([9, 4], 4),
        ([10, 10, 1, 1, 5], 1),
        ([7, 7, 3, 3, 3, 7], 3),
        ([6], 6),
    ],
)
def test_mode_ties_go_to_the_smaller_number(picks: list[int], mode: int) -> None:
    assert Histogram.of(picks).stats()["mode"] == mode


@pytest.mark.parametrize(
    ("picks", "median"),
    [
        ([5], 5),
        ([1, 2, 9], 2),
        ([1, 10], 5.5),  # even count: mean of the two middle picks
        ([3, 4], 3.5),
        ([2, 4, 6, 8], 5),  # a whole mean of the middle pair is an integer
        ([1, 1, 1, 10], 1),
        ([10, 1, 10, 1, 10, 1], 5.5),
    ],
)
def test_median_of_odd_and_even_counts(picks: list[int], median: float) -> None:
    result = Histogram.of(picks).stats()["median"]

    assert result == median
    assert type(result) is type(median)


def test_mean_is_rounded_to_four_places() -> None:
    assert Histogram.of([1, 1, 2]).stats()["mean"] == 1.3333


def test_histograms_add_count_by_count() -> None:
    assert Histogram.of([1, 2, 2]) + Histogram.of([2, 10]) == Histogram.of([1, 2, 2, 2, 10])


def test_adding_is_order_independent_so_rollups_commute() -> None:
    a, b, c = Histogram.of([1, 5]), Histogram.of([5, 5, 9]), Histogram.of([10])

    assert (a + b) + c == a + (b + c) == c + b + a


def test_from_mapping_fills_absent_numbers_with_zero() -> None:
    assert Histogram.from_mapping({3: 2, 10: 1}) == Histogram.of([3, 3, 10])


@pytest.mark.parametrize("counts", [(1,) * 9, (1,) * 11, (0,) * 9 + (-1,)])
def test_a_histogram_holds_exactly_ten_non_negative_counts(counts: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="10 non-negative counts"):
        Histogram(counts)
