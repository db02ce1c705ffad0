"""The documentation holds together: the README stays a front door, every relative
link reaches a file (and a heading, when it names one), every `make` target it
shows exists, and the licence it names is there."""

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from infra import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCUMENTS = sorted([README, REPO_ROOT / "CONTRIBUTING.md", *(REPO_ROOT / "docs").glob("*.md")])
README_MAX_LINES = 250  # read in five minutes

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
MAKE_COMMAND = re.compile(r"`make ([a-z][a-z0-9-]*)")
TARGET = re.compile(r"^([a-z][a-z0-9.-]*):", re.MULTILINE)
HELP_LINE = re.compile(r"^  make (\S+)", re.MULTILINE)


def prose(markdown: str) -> str:
    """The text outside fenced code blocks (a `#` there is a shell comment)."""
    return FENCE.sub("", markdown)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(document: Path) -> set[str]:
    seen: Counter[str] = Counter()
    found = set()
    for heading in HEADING.findall(prose(document.read_text())):
        base = slug(heading)
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return found


def relative_links(document: Path) -> list[str]:
    text = INLINE_CODE.sub("", prose(document.read_text()))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z+.-]*:", t)]


def broken_links(document: Path) -> list[str]:
    broken = []
    for link in relative_links(document):
        path, _, anchor = link.partition("#")
        target = (document.parent / path).resolve() if path else document
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{link}: no such heading in {target.name}")
    return broken


def makefile_targets() -> set[str]:
    return set(TARGET.findall((REPO_ROOT / "Makefile").read_text()))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: str(d.relative_to(REPO_ROOT)))
def test_every_relative_link_reaches_a_file_and_heading(document: Path) -> None:
    assert broken_links(document) == []


def test_a_link_to_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "OTHER.md").write_text("# Other\n\n## Run `make dev` locally\n")
    page = tmp_path / "PAGE.md"
    page.write_text(
        "[ok](OTHER.md#run-make-dev-locally) [here](#page) [web](https://example.com/x)\n"
        "[gone](MISSING.md) [no heading](OTHER.md#deploy)\n"
        "```sh\n# Page\n[in code](NOWHERE.md)\n```\n# Page\n"
    )

    assert broken_links(page) == [
        "MISSING.md: no such file",
        "OTHER.md#deploy: no such heading in OTHER.md",
    ]


def test_anchors_follow_github_including_repeated_headings(tmp_path: Path) -> None:
    page = tmp_path / "PAGE.md"
    page.write_text(
        "# Runbook: backups, restore\n### 2. Bypassing CloudFront\n## Notes\n## Notes\n"
    )

    assert anchors(page) == {
        "runbook-backups-restore",
        "2-bypassing-cloudfront",
        "notes",
        "notes-1",
    }


def test_the_readme_is_a_front_door() -> None:
    text = README.read_text()

    assert len(text.splitlines()) <= README_MAX_LINES
    for step in ("make dev", "make test"):
        assert step in text.split("## Layout")[0], f"the quick start shows `{step}`"


def test_every_make_command_the_docs_show_is_a_target() -> None:
    targets = makefile_targets()

    for document in DOCUMENTS:
        shown = set(MAKE_COMMAND.findall(document.read_text()))
        assert shown <= targets, f"{document.name}: {sorted(shown - targets)}"


def test_the_readme_command_table_is_what_make_help_lists() -> None:
    help_text = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    table = README.read_text().split("## Everyday commands")[1].split("\n## ")[0]

    in_table = set(re.findall(r"^\| `make ([a-z0-9-]+)", table, re.MULTILINE))
    assert in_table, "the README has a table of everyday commands"
    assert in_table <= set(HELP_LINE.findall(help_text))


def test_the_licence_is_mit_and_the_readme_names_it() -> None:
    licence = (REPO_ROOT / "LICENSE").read_text()
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    package = (REPO_ROOT / "package.json").read_text()

    assert licence.startswith("MIT License")
    assert "Copyright (c) 2026 the Pick a Number authors" in licence
    assert 'license = "MIT"' in pyproject
    assert '"license": "MIT"' in package
    assert "[MIT](LICENSE)" in README.read_text()
