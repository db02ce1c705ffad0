"""Chaos for the stream consumer: the faults Lambda's at-least-once delivery
allows, injected at random so anyone can watch the rollups stay exact.

- fail-before: the invocation fails before the handler runs (throttle, crash);
- timeout-after-write: the handler wrote, then the invocation "timed out", so
  the whole batch comes again;
- redeliver: a successful batch is delivered a second time;
- duplicate-records: every record appears twice in the batch.
"""

import logging
import random
from collections.abc import Callable
from typing import Any, Final

FAULTS: Final = ("fail-before", "timeout-after-write", "redeliver", "duplicate-records")

Invoke = Callable[[dict[str, Any]], Any]

_log = logging.getLogger(__name__)


class InjectedFault(RuntimeError):
    """A failure the chaos mode made up."""


class Chaos:
    def __init__(self, rate: float, seed: int | None = None) -> None:
        if not 0 <= rate <= 1:
            raise ValueError("the chaos rate is a probability between 0 and 1")
        self.rate = rate
        self._random = random.Random(seed)  # noqa: S311 - faults, not secrets
        self.injected: dict[str, int] = dict.fromkeys(FAULTS, 0)

    def wrap(self, invoke: Invoke) -> Invoke:
        if self.rate == 0:
            return invoke

        def chaotic(event: dict[str, Any]) -> Any:
            if self._random.random() >= self.rate:
                return invoke(event)
            fault = self._random.choice(FAULTS)
            self.injected[fault] += 1
            _log.info("chaos: %s (%d records)", fault, len(event.get("Records", [])))
            if fault == "fail-before":
                raise InjectedFault("injected failure before the handler ran")
            if fault == "duplicate-records":
                return invoke({**event, "Records": [r for r in event["Records"] for _ in (1, 2)]})
            invoke(event)
            if fault == "timeout-after-write":
                raise InjectedFault("injected timeout after the handler wrote")
            return invoke(event)  # redeliver: the mapping sends the same batch again

        return chaotic
