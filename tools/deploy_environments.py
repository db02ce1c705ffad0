"""Which environments a deploy run targets, as GitHub Actions job output.

Reads the environment names, in their declared order, from cdk.json (the same
context the CDK app reads), so the workflow names none itself. With an argument,
deploys only that environment and refuses an undeclared one.

Usage: python3 tools/deploy_environments.py [ENVIRONMENT] >> "$GITHUB_OUTPUT"
"""

import json
import sys
from pathlib import Path

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"
ENVIRONMENTS_CONTEXT_KEY = "pick-a-number:environments"


def environments(requested: str = "") -> list[str]:
    declared = list(json.loads(CDK_JSON.read_text())["context"][ENVIRONMENTS_CONTEXT_KEY])
    if not requested:
        return declared
    if requested not in declared:
        raise SystemExit(f"unknown environment {requested!r}; declared: {declared}")
    return [requested]


if __name__ == "__main__":
    print(f"environments={json.dumps(environments(sys.argv[1] if len(sys.argv) > 1 else ''))}")
