"""The functions' handler modules: each builds its Lambda handler at import, as a
cold start does, from the environment's settings, without calling AWS."""

from infra.topology import FUNCTIONS
from tests.support.interpreter import run_bare

# In a fresh interpreter with the functions' environment (the tests'): any
# connection is refused, then every handler the topology names is imported.
IMPORT_EVERY_HANDLER = """
import importlib
import socket

import infra  # services/ on the path
from infra.topology import FUNCTIONS


def refuse(*_, **__):
    raise AssertionError("a handler module opened a connection at import")


socket.socket.connect = refuse
for function in FUNCTIONS:
    module_name, attribute = function.handler.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), attribute)
    assert callable(handler), function.handler
    print(function.handler)
"""


def test_every_handler_is_built_at_import_without_calling_aws() -> None:
    result = run_bare("-c", IMPORT_EVERY_HANDLER)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [function.handler for function in FUNCTIONS]
