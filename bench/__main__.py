"""`make bench`: run the benchmarks, print a table each, write bench/results/<name>.json.

    .venv/bin/python -m bench                    # all of them
    .venv/bin/python -m bench cold_start web     # some of them
    .venv/bin/python -m bench --quick            # smaller volumes and fewer runs

Nothing here asserts a time: the figures are for reading (docs/BENCHMARKS.md).
Every comparison runs both sides in the same run, interleaved where it can.
"""

import argparse
import importlib
import inspect
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from bench.common import machine

# name -> module; each module has run(quick: bool) -> dict.
BENCHMARKS = {
    "read_cost": "bench.read_cost",
    "write_units": "bench.write_units",
    "aggregation": "bench.aggregation",
    "contention": "bench.contention",
    "cold_start": "bench.cold_start",
    "freshness": "bench.freshness",
    "web": "bench.web",
    "local_volume": "bench.local_volume",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"default: all of {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="smaller volumes, fewer runs")
    parser.add_argument("--long", action="store_true", help="also the largest volumes (1M)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['nproc']} CPUs, Python {info['python']},"
        f" load average {', '.join(f'{x:.2f}' for x in info['load_average'])}"
    )
    failed = []
    for name in args.names or list(BENCHMARKS):
        start = time.perf_counter()
        try:
            run: Callable[..., Any] = importlib.import_module(BENCHMARKS[name]).run
            takes_long = "long" in inspect.signature(run).parameters
            run(quick=args.quick, **({"long": args.long} if takes_long else {}))
        except Exception as error:  # one broken benchmark does not hide the others
            failed.append(name)
            print(f"\n{name}: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
            traceback.print_exc()
        print(f"  ({name}: {time.perf_counter() - start:.0f} s)")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
