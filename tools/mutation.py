"""`make mutation`: mutation testing of the exactly-once core with mutmut.

    python -m tools.mutation [--max-children N]

mutmut names a mutant after its module path from the working directory and
only strips a leading `src.`, while the tests import the services as `shared`,
`stats`, `ingest` (services/ is the root of every Lambda package). So the run
happens in a staging copy, .mutation/, where services/ is src/. Then it prints
the score of each module and every surviving mutant with its diff, setting
aside the equivalent mutants listed (with the reason) in
tools/mutation_equivalents.toml. Exit status 1 when a survivor is not listed
there: a test is missing, or the mutant is equivalent and belongs in the list.

Equivalents are keyed by function and the changed lines, not by mutmut's
numbers, which shift whenever a function changes.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
STAGING: Final = ROOT / ".mutation"
EQUIVALENTS: Final = ROOT / "tools" / "mutation_equivalents.toml"
MUTMUT: Final = Path(sys.executable).parent / "mutmut"

# The exactly-once core, relative to services/.
MODULES: Final = (
    "shared/histogram.py",
    "shared/rollups.py",
    "stats/aggregator.py",
    "stats/daily_stats.py",
    "ingest/accept.py",
)
# Copied next to src/ so that the unit tests run as in the repository.
_COPIED: Final = ("tests", "infra", "web", "package.json")
# The unit tests of the core and of its callers: each mutant runs those of them
# that ran its function (the 150-case bad-input corpus, the tooling, the web
# budget and the backup job add minutes per mutant and no kill).
_TESTS: Final = tuple(
    f"tests/unit/test_{name}.py"
    for name in (
        "accept",
        "submit_number",
        "histogram",
        "daily_stats",
        "daily_stats_api",
        "aggregator",
        "rollup_store",
        "rollup_contention",
        "rollups_property",
        "data_access",
        "backup_rebuild",
    )
)
# Examples of the exactly-once property per mutant (50 in `make test`).
_PROPERTY_EXAMPLES: Final = "8"
# A mutant no test runs survives as surely as one the tests run and miss.
_UNTESTED: Final = frozenset({"no tests"})
_KILLED: Final = frozenset({"killed", "timeout", "caught by type check"})
_RESULT: Final = re.compile(r"^\s+(?P<name>\S+): (?P<status>.+)$")


@dataclass(frozen=True)
class Equivalent:
    function: str
    before: str
    after: str
    reason: str


def stage() -> None:
    """A copy of the repository with services/ as src/ and mutmut's settings."""
    if STAGING.exists():
        shutil.rmtree(STAGING)
    STAGING.mkdir()
    shutil.copytree(
        ROOT / "services", STAGING / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in _COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, STAGING / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, STAGING / name)
    pyproject = (ROOT / "pyproject.toml").read_text()
    pyproject = pyproject.replace('pythonpath = ["services", "."]', 'pythonpath = ["src", "."]')
    tests = ", ".join(f'"{test}"' for test in _TESTS)
    only = ", ".join(f'"src/{module}"' for module in MODULES)
    pyproject += f"""
[tool.mutmut]
source_paths = ["src"]
only_mutate = [{only}]
also_copy = [{", ".join(f'"{name}"' for name in _COPIED)}]
pytest_add_cli_args = ["-p", "no:playwright", "-p", "no:cacheprovider", "-q"]
pytest_add_cli_args_test_selection = [{tests}]
# A mutant that loops forever is a kill by timeout; no need to wait 15 times the tests.
timeout_multiplier = 4.0
"""
    (STAGING / "pyproject.toml").write_text(pyproject)


def mutmut(*args: str) -> str:
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PROPERTY_EXAMPLES": _PROPERTY_EXAMPLES,
        # the data-access tests on moto only: DynamoDB Local is a Java process per mutant
        "STORE_ENGINES": "moto",
    }
    done = subprocess.run(  # noqa: S603 (the venv's own mutmut, fixed arguments)
        [str(MUTMUT), *args], cwd=STAGING, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"mutmut {' '.join(args)} failed ({done.returncode})")
    return done.stdout


def results() -> dict[str, str]:
    """Every mutant's status, by mutant name."""
    found = {}
    for line in mutmut("results", "--all", "true").splitlines():
        if match := _RESULT.match(line):
            found[match["name"]] = match["status"].strip()
    return found


def changed_lines(diff: str) -> tuple[str, str]:
    """The removed and the added lines of a mutant's diff, stripped and joined."""
    removed = [
        line[1:].strip() for line in diff.splitlines() if line.startswith("-") and line[1:].strip()
    ]
    added = [
        line[1:].strip() for line in diff.splitlines() if line.startswith("+") and line[1:].strip()
    ]
    removed = [line for line in removed if not line.startswith("--")]
    added = [line for line in added if not line.startswith("++")]
    return " / ".join(removed), " / ".join(added)


def function_of(mutant: str) -> str:
    return mutant.partition("__mutmut_")[0]


def module_of(mutant: str) -> str:
    """`shared.rollups` of `shared.rollups.xǁRollupStoreǁcount_once__mutmut_3`."""
    parts = mutant.split(".")
    return ".".join(p for p in parts if not p.startswith(("x_", "xǁ")))


def load_equivalents() -> list[Equivalent]:
    data = tomllib.loads(EQUIVALENTS.read_text())
    return [Equivalent(**entry) for entry in data.get("equivalent", [])]


def report(statuses: dict[str, str], equivalents: Sequence[Equivalent]) -> int:
    known = {(e.function, e.before, e.after) for e in equivalents}
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    new_survivors: list[tuple[str, str]] = []
    used: set[tuple[str, str, str]] = set()
    for name, status in sorted(statuses.items()):
        module = module_of(name)
        if status in _UNTESTED:
            status = "survived"
        if status != "survived":
            by_module[module][status] += 1
            continue
        diff = mutmut("show", name)
        before, after = changed_lines(diff)
        key = (function_of(name), before, after)
        if key in known:
            by_module[module]["equivalent"] += 1
            used.add(key)
        else:
            by_module[module]["survived"] += 1
            new_survivors.append((name, diff))

    print(
        f"{'module':<22}{'mutants':>9}{'killed':>8}{'equiv.':>8}{'survived':>10}{'other':>7}{'score':>8}"
    )
    for module, counts in sorted(by_module.items()):
        total = sum(counts.values())
        killed = sum(counts[status] for status in _KILLED)
        equivalent, survived = counts["equivalent"], counts["survived"]
        other = total - killed - equivalent - survived
        scored = total - equivalent
        score = f"{100 * killed / scored:.1f}%" if scored else "-"
        print(f"{module:<22}{total:>9}{killed:>8}{equivalent:>8}{survived:>10}{other:>7}{score:>8}")
    for name, diff in new_survivors:
        print(f"\nSURVIVED {name}\n{diff.strip()}")
    stale = [e for e in equivalents if (e.function, e.before, e.after) not in used]
    for entry in stale:
        print(f"\nnote: listed equivalent no longer survives: {entry.function}: {entry.after}")
    unfinished = sum(
        count
        for counts in by_module.values()
        for status, count in counts.items()
        if status not in {*_KILLED, "equivalent", "survived"}
    )
    if unfinished:
        print(f"\n{unfinished} mutant(s) not checked or suspicious: the run is not complete")
        return 1
    if new_survivors:
        print(
            f"\n{len(new_survivors)} surviving mutant(s) not listed as equivalent in "
            f"{EQUIVALENTS.relative_to(ROOT)}: kill them with a test, or list them with a reason."
        )
        return 1
    print("\nno surviving mutant outside the listed equivalents")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__)
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--report-only", action="store_true", help="report the last run in .mutation/ again"
    )
    args = parser.parse_args(argv)
    if not args.report_only:
        stage()
        print(f"mutating {', '.join(MODULES)} (this takes minutes)", flush=True)
        mutmut("run", "--max-children", str(args.max_children))
    return report(results(), load_equivalents())


if __name__ == "__main__":
    sys.exit(main())
