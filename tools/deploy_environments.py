"""Which environments a deploy run targets, and how each is smoke-tested, as GitHub
Actions step output.

Reads the environment names, in their declared order, from cdk.json (the same
context the CDK app reads), so the workflow names none itself. With an argument,
deploys only that environment and refuses an undeclared one. `--smoke-mode ENV`
prints the contract suite's mode for that environment (its `smoke_mode` setting;
read-only unless declared otherwise, as in infra/environments.py).

Usage: python3 tools/deploy_environments.py [ENVIRONMENT] >> "$GITHUB_OUTPUT"
       python3 tools/deploy_environments.py --smoke-mode ENVIRONMENT >> "$GITHUB_OUTPUT"
"""

import json
import sys
from pathlib import Path
from typing import Any

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"
ENVIRONMENTS_CONTEXT_KEY = "pick-a-number:environments"
DEFAULT_SMOKE_MODE = "read-only"


def _declared() -> dict[str, dict[str, Any]]:
    declared: dict[str, dict[str, Any]] = json.loads(CDK_JSON.read_text())["context"][
        ENVIRONMENTS_CONTEXT_KEY
    ]
    return declared


def environments(requested: str = "") -> list[str]:
    declared = list(_declared())
    if not requested:
        return declared
    if requested not in declared:
        raise SystemExit(f"unknown environment {requested!r}; declared: {declared}")
    return [requested]


def smoke_mode(environment: str) -> str:
    [name] = environments(environment)
    return str(_declared()[name].get("smoke_mode", DEFAULT_SMOKE_MODE))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--smoke-mode"] and len(sys.argv) == 3:
        print(f"mode={smoke_mode(sys.argv[2])}")
    else:
        print(f"environments={json.dumps(environments(sys.argv[1] if len(sys.argv) > 1 else ''))}")
