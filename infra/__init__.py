"""The app's infrastructure: the topology, the CDK app (`infra.cloud`, `infra.app`),
the OpenAPI document and the local stack (`infra.local`).

`services/` is the root of every Lambda package (`shared`, `ingest`, ...), as
/var/task is in AWS, and the topology reads the request schemas from it. Every
entry point (`python -m infra.app`, `infra.openapi`, `infra.local`, `bench`)
imports this package first, so this is the one place that puts it on the path;
pytest and mypy read it from pyproject.toml.
"""

import sys
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
SERVICES_ROOT: Final = REPO_ROOT / "services"

if str(SERVICES_ROOT) not in sys.path:
    sys.path.insert(0, str(SERVICES_ROOT))
