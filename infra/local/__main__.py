"""`python -m infra.local`: run the whole app on this machine (docs/LOCAL.md)."""

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
from infra.topology import STREAM_CONSUMER

DEFAULTS = dataclasses.replace(Options(), data_dir=Path(".local"))  # the working directory's
# What an option means, where its name does not say; its default is its Options field's.
HELP = {
    "host": "address of the app (%(default)s)",
    "port": "0: any free port",
    "aws_port": "embedded AWS port; 0: any free",
    "data_dir": "local data (%(default)s)",
    "ephemeral": "keep everything in memory: the data dir is neither read nor locked",
    "endpoint_url": "use this AWS-compatible endpoint instead of the embedded one; "
    f"'{REAL_AWS}': real AWS with the usual credentials",
    "chaos": "fault rate (0 to 1) of stream batches",
    "chaos_seed": "repeatable chaos",
    "throttle_rate": "the stage's requests per second, every route together (the topology's: "
    "%(default)s); each route also has its own, the topology's; 0 turns all off",
    "batching_window": "the stream's batching window, seconds (the topology's: %(default)s)",
    "parallelization_factor": "stream batches of a shard processed at once (%(default)s)",
    "function_log_level": "Powertools log level of the functions (%(default)s)",
    "waf": "apply AWS WAF's per-IP rate rule on submissions (as an environment's `waf`)",
    "waf_rate_limit": "with --waf: submissions per address per window (%(default)s)",
    "waf_window": "with --waf: the trailing window, seconds (%(default)s)",
}
# No default to copy a type from, or a whole-number default of a float option.
OPTIONAL_TYPES = {
    "endpoint_url": str,
    "chaos_seed": int,
    "batching_window": float,
    "throttle_rate": float,
    "chaos": float,
}


def _parser() -> argparse.ArgumentParser:
    """One option per field of Options, with the same name."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.local",
        description="Run Pick a Number locally: web app, API, DynamoDB and its stream, backups.",
    )
    for field in dataclasses.fields(Options):
        flag, default = "--" + field.name.replace("_", "-"), getattr(DEFAULTS, field.name)
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", help=HELP.get(field.name))
        else:
            kind = OPTIONAL_TYPES.get(field.name) or type(default)
            parser.add_argument(flag, type=kind, default=default, help=HELP.get(field.name))
    return parser


def parse_options(argv: list[str] | None = None) -> Options:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.chaos <= 1:
        parser.error("--chaos is a probability between 0 and 1")
    try:  # the topology's one rule for it, as in the CDK app
        STREAM_CONSUMER.with_parallelization(args.parallelization_factor)
    except ValueError as error:
        parser.error(f"--parallelization-factor: {error}")
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
