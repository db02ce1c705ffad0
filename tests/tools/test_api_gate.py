"""The breaking-change gate (tools/api_gate.py): it fails on a deliberately broken copy
of the published document, naming the break, passes an additive change, and lets a
break through only with a raised major version."""

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs

from tools.api_gate import ROOT, judge, main

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "api-smart-diff").is_dir(),
    reason="needs node and node_modules (make setup)",
)

Document = dict[str, Any]
SUBMIT = "/api/submit-number"
STATS = "/api/daily-stats"


@pytest.fixture(scope="module")
def published() -> Document:
    loaded: Document = json.loads((ROOT / "web" / "openapi.json").read_text(encoding="utf-8"))
    return loaded


def changed(document: Document, change: Callable[[Document], object]) -> Document:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def schemas(document: Document) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def query_parameter(document: Document, name: str) -> dict[str, Any]:
    [found] = [p for p in document["paths"][STATS]["get"]["parameters"] if p["name"] == name]
    parameter: dict[str, Any] = found
    return parameter


BREAKING = {
    "a removed path": (
        lambda d: d["paths"].pop(STATS),
        "[Removed] operation GET /api/daily-stats",
    ),
    "a removed method": (
        lambda d: d["paths"][SUBMIT].pop("post"),
        "[Removed] operation POST /api/submit-number",
    ),
    "a removed response": (
        lambda d: d["paths"][SUBMIT]["post"]["responses"].pop("409"),
        "[Removed] Response 409",
    ),
    "a new required request field": (
        lambda d: schemas(d)["Submission"]["required"].append("timestamp"),
        "required status to `timestamp` in Request Body",
    ),
    "a narrowed range": (
        lambda d: schemas(d)["Submission"]["properties"]["number"].update(maximum=9),
        "maximum validator of `number` in Request Body",
    ),
    "a shorter maximum length": (
        lambda d: schemas(d)["Submission"]["properties"]["timestamp"].update(maxLength=20),
        "maxLength validator of `timestamp` in Request Body",
    ),
    "another type": (
        lambda d: schemas(d)["Submission"]["properties"]["number"].update(type="string"),
        "type definition of `number` in Request Body",
    ),
    "a removed response field": (
        lambda d: (
            schemas(d)["Accepted"]["properties"].pop("date"),
            schemas(d)["Accepted"]["required"].remove("date"),
        ),
        "[Removed] property `date` in Response 200",
    ),
    "a parameter made required": (
        lambda d: query_parameter(d, "from").update(required=True),
        "required query parameter `from`",
    ),
}

ADDITIVE = {
    "a new optional request field": lambda d: schemas(d)["Submission"]["properties"].update(
        note={"type": "string", "maxLength": 100}
    ),
    "a new response field": lambda d: schemas(d)["Accepted"]["properties"].update(
        received_at={"type": "string"}
    ),
    "a new optional query parameter": lambda d: d["paths"][STATS]["get"]["parameters"].append(
        {"name": "tz", "in": "query", "required": False, "schema": {"type": "string"}}
    ),
    "a widened range": lambda d: schemas(d)["Submission"]["properties"]["number"].update(
        maximum=20
    ),
    "a new response": lambda d: d["paths"][STATS]["get"]["responses"].update(
        {"507": d["paths"][STATS]["get"]["responses"]["500"]}
    ),
    "new prose": lambda d: d["info"].update(description="Pick a number, any number."),
}


@needs_node
@pytest.mark.parametrize("name", BREAKING)
def test_a_breaking_change_fails_the_gate_naming_it(published: Document, name: str):
    change, named = BREAKING[name]

    verdict = judge(published, changed(published, change))

    assert not verdict.passed
    assert named in verdict.report
    assert "raise the major of API_VERSION" in verdict.report


@needs_node
@pytest.mark.parametrize("name", ADDITIVE)
def test_an_additive_change_passes_the_gate(published: Document, name: str):
    verdict = judge(published, changed(published, ADDITIVE[name]))

    assert verdict.passed, verdict.report


@needs_node
def test_the_same_document_passes(published: Document):
    assert judge(published, published).passed


@needs_node
def test_a_deliberate_break_passes_with_a_raised_major_and_is_listed(published: Document):
    def break_deliberately(document: Document) -> None:
        document["paths"].pop(STATS)
        document["info"]["version"] = "2.0.0"

    verdict = judge(published, changed(published, break_deliberately))

    assert verdict.passed
    assert "major went from 1 to 2" in verdict.report
    assert "[Removed] operation GET /api/daily-stats" in verdict.report


@needs_node
def test_a_minor_bump_does_not_excuse_a_break(published: Document):
    def break_quietly(document: Document) -> None:
        document["paths"].pop(STATS)
        document["info"]["version"] = "1.1.0"

    assert not judge(published, changed(published, break_quietly)).passed


@needs_node
def test_the_command_exits_1_on_a_broken_copy_and_0_on_an_additive_one(
    published: Document, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    base = tmp_path / "base.json"
    base.write_text(json.dumps(published))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(changed(published, lambda d: d["paths"].pop(SUBMIT))))
    additive = tmp_path / "additive.json"
    additive.write_text(json.dumps(changed(published, ADDITIVE["a new response field"])))

    assert main(["--base-file", str(base), "--head-file", str(broken)]) == 1
    assert "[Removed] operation POST /api/submit-number" in capsys.readouterr().err
    assert main(["--base-file", str(base), "--head-file", str(additive)]) == 0


@needs_node
def test_the_committed_document_passes_against_the_last_commit():
    assert main(["--base", "HEAD"]) == 0


def test_ci_gates_every_pull_request_against_its_base_branch():
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    job = ci["jobs"]["api-gate"]

    assert job["if"] == "github.event_name == 'pull_request'"
    [checkout] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0  # the base branch is there to compare with
    [gate] = [s for s in job["steps"] if "make api-gate" in s.get("run", "")]
    assert gate["env"]["BASE_REF"] == "${{ github.base_ref }}"
    assert 'BASE="origin/${BASE_REF}"' in gate["run"]
    assert 'exit "$status"' in gate["run"]
