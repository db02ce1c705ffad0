"""Synthesized templates of the CDK app, built once per environment and test module
(`tests.support.synth`).

No Docker, no AWS account: bundling is skipped and the stacks are environment-agnostic.
"""

import os

import pytest

from tests.support.synth import Synth

for _name in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="module")
def dev() -> Synth:
    return Synth("dev")


@pytest.fixture(scope="module")
def prod() -> Synth:
    return Synth("prod")
