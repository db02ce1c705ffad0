"""A fresh interpreter, as an entry point or a Lambda cold start gets one."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bare(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`python <arguments>` from the repository root, without a PYTHONPATH (the rest
    of this process's environment kept)."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
