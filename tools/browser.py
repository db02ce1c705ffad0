"""How this machine runs a browser (end-to-end tests, the web benchmark): Debian's
chromium, never a downloaded one."""

from pathlib import Path
from typing import Final

CHROMIUM: Final = Path("/usr/bin/chromium")
# Headless as root, on a machine with no way out: no sandbox, no GPU, and none of
# Chromium's background calls home (they would fail, noisily, at every start).
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
