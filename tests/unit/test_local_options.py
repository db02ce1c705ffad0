"""`python -m infra.local`'s options: one per field of the stack's Options."""

import dataclasses
from pathlib import Path

import pytest

from infra.local.__main__ import parse_options
from infra.local.stack import Options


def test_no_option_means_the_stack_defaults_with_data_in_the_working_directory() -> None:
    assert parse_options([]) == dataclasses.replace(Options(), data_dir=Path(".local"))


def test_each_option_reaches_its_field() -> None:
    options = parse_options(
        [
            *("--port", "0", "--ephemeral", "--chaos", "0.25", "--chaos-seed", "7"),
            *("--batching-window", "0.2", "--throttle-rate", "2.5"),
            *("--parallelization-factor", "4", "--function-log-level", "debug"),
        ]
    )
    assert (options.port, options.ephemeral, options.chaos, options.chaos_seed) == (
        0,
        True,
        0.25,
        7,
    )
    assert (options.parallelization_factor, options.function_log_level) == (4, "DEBUG")
    assert (options.batching_window, options.throttle_rate) == (0.2, 2.5)


@pytest.mark.parametrize(
    "argv",
    [["--chaos", "1.5"], ["--parallelization-factor", "0"], ["--parallelization-factor", "11"]],
)
def test_an_impossible_value_is_refused_with_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_options(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert argv[0] in error  # names the option
    assert "between 0 and 1" in error or "must be 1..10" in error  # and its range
