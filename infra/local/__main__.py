"""`python -m infra.local`: run the whole app on this machine (see README, "Run locally")."""

import argparse
import dataclasses
import logging
import signal
import sys
import threading
import warnings
from pathlib import Path
from types import FrameType

from infra.local.stack import REAL_AWS, EmulatedStack, Options

DEFAULTS = Options()


def _parser() -> argparse.ArgumentParser:
    """One option per field of Options, with the same name."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.local",
        description="Run Pick a Number locally: web app, API, DynamoDB and its stream, backups.",
    )
    parser.add_argument("--host", default=DEFAULTS.host, help="address of the app (%(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULTS.port, help="0: any free port")
    parser.add_argument(
        "--aws-port", type=int, default=DEFAULTS.aws_port, help="embedded AWS port; 0: any free"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(".local"), help="local data (%(default)s)"
    )
    parser.add_argument(
        "--ephemeral",
        action="store_true",
        help="keep everything in memory: the data dir is neither read nor locked",
    )
    parser.add_argument(
        "--endpoint-url",
        help=f"use this AWS-compatible endpoint instead of the embedded one; '{REAL_AWS}': "
        "real AWS with the usual credentials",
    )
    parser.add_argument("--table-name", default=DEFAULTS.table_name)
    parser.add_argument("--web-dir", type=Path, default=DEFAULTS.web_dir)
    parser.add_argument(
        "--chaos", type=float, default=0.0, metavar="RATE", help="fault rate of stream batches"
    )
    parser.add_argument("--chaos-seed", type=int, help="repeatable chaos")
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=DEFAULTS.throttle_rate,
        help="the stage's requests per second, every route together (the topology's: "
        "%(default)s); each route also has its own, the topology's; 0 turns all off",
    )
    parser.add_argument("--throttle-burst", type=int, default=DEFAULTS.throttle_burst)
    parser.add_argument(
        "--batching-window",
        type=float,
        default=DEFAULTS.batching_window,
        metavar="SECONDS",
        help="the stream's batching window (the topology's: %(default)s)",
    )
    parser.add_argument(
        "--parallelization-factor",
        type=int,
        default=DEFAULTS.parallelization_factor,
        metavar="N",
        help="stream batches of a shard processed at once (the topology's: %(default)s)",
    )
    parser.add_argument(
        "--function-log-level",
        default=DEFAULTS.function_log_level,
        help="Powertools log level of the functions (%(default)s)",
    )
    return parser


def parse_options(argv: list[str] | None = None) -> Options:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.chaos <= 1:
        parser.error("--chaos is a probability between 0 and 1")
    if not 1 <= args.parallelization_factor <= 10:
        parser.error("--parallelization-factor is between 1 and 10, as in Lambda")
    args.function_log_level = args.function_log_level.upper()
    return Options(
        **{field.name: getattr(args, field.name) for field in dataclasses.fields(Options)}
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    # An aggregator invocation that counted nothing (a replay) has no metric to publish.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    for noisy in ("botocore", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Under load the functions' shared client opens more connections than it pools.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = EmulatedStack(options)
    try:
        stack.start()
        print(stack.banner(), flush=True)
        stopping.wait()
        print("stopping...", file=sys.stderr, flush=True)
    finally:
        stack.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
