"""The local stack: the whole app on a laptop, no AWS account, no Docker.

`python -m infra.local` (or `make dev`) starts DynamoDB Local (AWS's local
engine, a child process) behind a loopback AWS endpoint that adds the backup
API, a local "CloudFront" in front of the same Lambda handlers that run in AWS,
a stream poller that emulates the event source mapping, and the backup
schedule. Everything it builds comes from `infra.topology`.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES_ROOT = REPO_ROOT / "services"

# `services/` is the root of every Lambda package (`shared`, `ingest`, ...), as in AWS.
if str(SERVICES_ROOT) not in sys.path:
    sys.path.insert(0, str(SERVICES_ROOT))
