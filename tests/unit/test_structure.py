"""Where code may reach: the layering a reader relies on, held by the imports.

- A conftest holds fixtures for its own directory; nothing imports one as a library
  (shared test code lives in tests/support/).
- The benchmarks share code with the tests only through modules that are neither
  (infra.local.events, tools.events, tools.launcher, tools.browser): bench never imports tests.
- No module imports a test module; the repository holds no symbolic link.
- No function in infra/ or services/ is over 60 lines.
- One place puts services/ on the path, `infra/__init__.py`, and every entry point
  imports it first: each starts in a bare interpreter (no PYTHONPATH).
"""

import ast
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.interpreter import run_bare

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("infra", "services", "tests", "bench", "tools")


def python_files(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> Iterator[str]:
    """Every module `path` imports, at any depth (function-level imports too)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def imports_where(packages: tuple[str, ...], forbidden: Callable[[list[str]], bool]) -> list[str]:
    """`file: module` for each import whose dotted name's parts are `forbidden`."""
    return [
        f"{path.relative_to(ROOT)}: {module}"
        for path in python_files(*packages)
        for module in imported_modules(path)
        if forbidden(module.split("."))
    ]


def test_the_scan_sees_the_whole_tree():
    files = {path.relative_to(ROOT).as_posix() for path in python_files(*PACKAGES)}

    assert {"infra/local/gateway.py", "bench/cold_start.py", "tests/conftest.py"} <= files


def test_no_module_imports_a_conftest():
    assert imports_where(PACKAGES, lambda parts: "conftest" in parts) == []


def test_no_module_imports_a_test_module():
    """Helpers two test modules share live in tests/support/, not in one of them."""
    assert imports_where(PACKAGES, lambda parts: parts[-1].startswith("test_")) == []


def test_the_repository_tracks_no_symbolic_link():
    """A link is this machine's path: a worktree's .venv linked to another checkout's
    once got committed, and a checkout of it replaced the real .venv with the link."""
    tracked = subprocess.run(
        ["git", "ls-files", "--stage"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [line.split("\t")[1] for line in tracked if line.startswith("120000 ")] == []


@pytest.mark.parametrize("package", ["bench", "infra", "services", "tools"])
def test_no_code_outside_the_tests_imports_them(package):
    assert imports_where((package,), lambda parts: parts[0] == "tests") == []


def touches_sys_path(path: Path) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
    )


def test_only_the_infra_package_edits_the_path():
    editors = [
        path.relative_to(ROOT).as_posix()
        for path in python_files(*PACKAGES)
        if touches_sys_path(path)
    ]

    assert editors == ["infra/__init__.py"]


ENTRY_POINTS = (
    "infra.app",
    "infra.openapi",
    "infra.local.__main__",
    "infra.local.backup",
    "infra.local.demo",
    "bench.__main__",
)


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_entry_point_reaches_the_functions_packages_without_a_pythonpath(entry_point):
    # In a fresh interpreter: the entry point, then a module from services/.
    script = f"import importlib; importlib.import_module({entry_point!r}); import shared.schemas"

    result = run_bare("-c", script)

    assert result.returncode == 0, result.stderr


def test_the_openapi_entry_point_writes_the_published_document(tmp_path):
    written = tmp_path / "openapi.json"

    result = run_bare("-m", "infra.openapi", str(written))

    assert result.returncode == 0, result.stderr
    assert written.read_text() == (ROOT / "web" / "openapi.json").read_text()


# A function longer than this does several jobs: split it (CONTRIBUTING.md, Conventions).
MAX_FUNCTION_LINES = 60


def test_no_function_in_the_product_code_is_over_60_lines():
    too_long = [
        f"{path.relative_to(ROOT).as_posix()}: {node.name} ({node.end_lineno - node.lineno + 1})"
        for path in python_files("infra", "services")
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert too_long == []
