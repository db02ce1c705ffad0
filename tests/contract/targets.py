"""What the contract suite's fixtures hand the tests, beyond a `Client`."""

from dataclasses import dataclass

from tests.contract.client import Client


@dataclass(frozen=True)
class Throttled:
    """A target whose rate limit a bounded burst exceeds, and the size of that burst."""

    client: Client
    burst: int  # the most requests the check may send
