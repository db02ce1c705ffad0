"""The breaking-change gate of the published API (web/openapi.json).

Compares the document of a change with the one on the base branch and fails when a
client of the base could break: a removed path, operation or response, a new
required field or parameter, a narrowed type, range, length or pattern, a removed
response field... The classification is api-smart-diff's (npm, offline), run by
tools/api_diff.cjs; only changes to operations count (`paths`, with every `$ref`
resolved), so a schema in `components` matters where an operation uses it.

A deliberate break is declared by raising the major of the document's
`info.version` (API_VERSION in infra/openapi.py): a line of the change that its
reviewers see, and the version clients read. The gate then passes and lists the
breaking changes it acknowledges.

Usage: python3 -m tools.api_gate [--base REF] [--base-file FILE] [--head-file FILE]
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = "web/openapi.json"
DIFF_TOOL = ROOT / "tools" / "api_diff.cjs"
BREAKING = "breaking"


@dataclass(frozen=True)
class Change:
    type: str
    action: str
    path: tuple[str | int, ...]
    description: str

    def __str__(self) -> str:
        pointer = "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in self.path)
        return f"{self.description or self.action} (#/{pointer})"


@dataclass(frozen=True)
class Verdict:
    passed: bool
    report: str


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Every change from `before` to `after`, as api-smart-diff classifies it."""
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, document in (("before", before), ("after", after)):
            file = Path(tmp) / f"{name}.json"
            file.write_text(json.dumps(document), encoding="utf-8")
            files.append(str(file))
        # Fixed programs, resolved on PATH; the arguments are files this function wrote.
        result = subprocess.run(  # noqa: S603
            [_program("node"), str(DIFF_TOOL), *files],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"{DIFF_TOOL.name} failed: {result.stderr.strip()}")
    return [
        Change(c["type"], c["action"], tuple(c["path"]), c["description"])
        for c in json.loads(result.stdout)
    ]


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not on PATH")
    return found


def major(document: dict[str, Any]) -> int:
    version = str(document.get("info", {}).get("version", "0"))
    try:
        return int(version.split(".")[0])
    except ValueError:
        raise ValueError(f"info.version {version!r} is not a semantic version") from None


def judge(before: dict[str, Any], after: dict[str, Any]) -> Verdict:
    breaking = [
        c for c in changes(before, after) if c.type == BREAKING and c.path[:1] == ("paths",)
    ]
    if not breaking:
        return Verdict(True, "No breaking change of the published API.")
    listed = "\n".join(f"  - {change}" for change in breaking)
    old, new = major(before), major(after)
    if new > old:
        return Verdict(
            True,
            f"Deliberate breaking change: info.version's major went from {old} to {new}. "
            f"Acknowledged:\n{listed}",
        )
    return Verdict(
        False,
        f"Breaking change of the published API ({DOCUMENT}):\n{listed}\n"
        "Clients of the current API would break. Make the change additive, or, if the "
        "break is deliberate, raise the major of API_VERSION in infra/openapi.py, run "
        "`python -m infra.openapi`, and say why in the pull request.",
    )


def base_document(ref: str) -> dict[str, Any] | None:
    """The document at `ref`, or None where the branch has none yet."""
    # `git show` reads an object; the ref is one argument, never a shell word.
    result = subprocess.run(  # noqa: S603
        [_program("git"), "show", f"{ref}:{DOCUMENT}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        if "exists on disk, but not in" in result.stderr or "does not exist in" in result.stderr:
            return None
        raise RuntimeError(f"git show {ref}:{DOCUMENT} failed: {result.stderr.strip()}")
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="origin/main", help="git ref of the base (origin/main)")
    parser.add_argument("--base-file", type=Path, help="the base document as a file instead")
    parser.add_argument("--head-file", type=Path, default=ROOT / DOCUMENT)
    args = parser.parse_args(argv)
    if args.base_file:
        before = json.loads(args.base_file.read_text(encoding="utf-8"))
    else:
        before = base_document(args.base)
        if before is None:
            print(f"{args.base} has no {DOCUMENT}: nothing to compare with.")
            return 0
    after = json.loads(args.head_file.read_text(encoding="utf-8"))
    verdict = judge(before, after)
    print(verdict.report, file=sys.stdout if verdict.passed else sys.stderr)
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
