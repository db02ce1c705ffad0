"""Test settings shared by every suite: a fake AWS account, never a real one."""

import os

from infra.local.events import DEFAULT_REGION
from infra.local.runtime import use_aws_environment
from infra.topology import RuntimeSettings, process_environment

# How the tests run the functions: several in this one process, no X-Ray daemon.
TEST_RUNTIME = RuntimeSettings(log_level="WARNING", tracing=False, shared_process=True)
TEST_TABLE_NAME = "pick-a-number-test"

# Before any handler module is imported: they read their settings at import.
use_aws_environment(None, region=DEFAULT_REGION)
os.environ.update(
    {
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        # The functions' settings, from the topology (the backup function's retention
        # is every environment's default, as in the local stack).
        **process_environment(TEST_TABLE_NAME, TEST_RUNTIME),
    }
)
