"""Tiny file-hygiene checks for the pre-commit hooks, so they run offline.

`pre-commit-hooks` is not a project dependency; these few checks are all we use
of it. Usage: python -m tools.checks {end-of-file,trailing-whitespace,json,yaml} FILE...
Each prints one line per offending file and exits 1 when any file fails.
"""

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs


def end_of_file(data: bytes) -> str | None:
    """A non-empty text file ends with exactly one newline."""
    if not data:
        return None
    if not data.endswith(b"\n"):
        return "no newline at end of file"
    if data.endswith(b"\n\n") or data.endswith(b"\r\n\r\n"):
        return "blank lines at end of file"
    return None


def trailing_whitespace(data: bytes) -> str | None:
    for number, line in enumerate(data.splitlines(), start=1):
        if line != line.rstrip(b" \t"):
            return f"trailing whitespace on line {number}"
    return None


def valid_json(data: bytes) -> str | None:
    try:
        json.loads(data)
    except ValueError as error:
        return f"invalid JSON: {error}"
    return None


def valid_yaml(data: bytes) -> str | None:
    try:
        for _ in yaml.safe_load_all(data):
            pass
    except yaml.YAMLError as error:
        return f"invalid YAML: {error}".replace("\n", " ")
    return None


CHECKS: dict[str, Callable[[bytes], str | None]] = {
    "end-of-file": end_of_file,
    "trailing-whitespace": trailing_whitespace,
    "json": valid_json,
    "yaml": valid_yaml,
}


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in CHECKS:
        print(f"usage: python -m tools.checks {{{','.join(CHECKS)}}} FILE...", file=sys.stderr)
        return 2
    check = CHECKS[argv[0]]
    failed = 0
    for name in argv[1:]:
        problem = check(Path(name).read_bytes())
        if problem:
            failed += 1
            print(f"{name}: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
