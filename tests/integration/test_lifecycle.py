"""Starting, stopping, crashing and restarting the local stack: what was answered
201 is stored, counted exactly once, and nothing is replayed at start-up."""

import json
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.local_stack import day_count, submit
from tools.launcher import LaunchedStack

pytestmark = pytest.mark.integration

PERSISTENT = ("--throttle-rate", "0")
LOAD_CLIENTS = 8
LOAD_SUBMISSIONS = 600
KILL_AFTER_ACCEPTED = 150


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), children first."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def wait_until_gone(pids: list[int], timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def position_file(data_dir: Path) -> dict[str, Any]:
    saved: dict[str, Any] = json.loads((data_dir / "stream-positions.json").read_text())
    return saved


def test_a_restart_resumes_the_stream_where_it_stopped_and_counts_nothing_twice(
    start_local_stack, http, tmp_path
):
    data_dir = tmp_path / "data"
    # Given a stack with a few counted submissions, stopped with Ctrl-C
    stack = start_local_stack(*PERSISTENT, data_dir=data_dir)
    picks = Counter([3, 3, 7, 10])
    (day,) = {submit(http, stack, {"number": n}).json()["date"] for n in picks.elements()}
    stack.wait_until_aggregated()
    assert day_count(http, stack, day) == picks
    assert stack.stop(signal.SIGINT) == 0
    assert not (data_dir / "stack.json").exists()
    saved = position_file(data_dir)
    (shard,) = saved["shards"].values()
    assert shard["after"]

    # When it starts again
    restarted = start_local_stack(*PERSISTENT, data_dir=data_dir)

    # Then the statistics are exact at once, and the poller resumes after its position
    assert day_count(http, restarted, day) == picks
    assert f"resuming after {shard['after']}" in restarted.stderr.read_text()
    submit(http, restarted, {"number": 1})
    picks[1] += 1
    restarted.wait_until_aggregated()
    assert restarted.rollup_histogram() == restarted.raw_histogram() == picks
    assert restarted.stop() == 0


def test_a_lost_stream_position_replays_the_stream_and_still_counts_each_pick_once(
    start_local_stack, http, tmp_path
):
    data_dir = tmp_path / "data"
    stack = start_local_stack(*PERSISTENT, data_dir=data_dir)
    picks = Counter([2, 4, 4, 9])
    for number in picks.elements():
        assert submit(http, stack, {"number": number}).status_code == 201
    stack.wait_until_aggregated()
    assert stack.stop() == 0

    # When the position is lost, the stream is read again from its oldest record
    (data_dir / "stream-positions.json").unlink()
    replayed = start_local_stack(*PERSISTENT, data_dir=data_dir)
    deadline = time.monotonic() + 30
    while "reading from TRIM_HORIZON" not in replayed.stderr.read_text():
        assert time.monotonic() < deadline, "the poller did not start over"
        time.sleep(0.1)
    time.sleep(1.0)  # the replayed batches are delivered (and found already counted)

    # Then the markers keep every pick counted exactly once
    assert replayed.rollup_histogram() == replayed.raw_histogram() == picks
    assert replayed.stop() == 0


def test_every_submission_answered_201_survives_kill_9_of_the_whole_stack_under_load(
    start_local_stack, tmp_path
):
    data_dir = tmp_path / "data"
    stack = start_local_stack(*PERSISTENT, data_dir=data_dir)
    accepted: list[tuple[str, int]] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(worker: int) -> None:
        with requests.Session() as session:
            for n in range(LOAD_SUBMISSIONS // LOAD_CLIENTS):
                number = (worker + n) % 10 + 1
                try:
                    response = submit(session, stack, {"number": number}, timeout=5)
                except requests.RequestException:
                    return  # the stack is gone
                if response.status_code == 201:
                    with lock:
                        accepted.append((response.json()["id"], number))
                        if len(accepted) >= KILL_AFTER_ACCEPTED:
                            enough.set()

    # Given concurrent clients submitting
    threads = [threading.Thread(target=client, args=(w,)) for w in range(LOAD_CLIENTS)]
    for thread in threads:
        thread.start()
    assert enough.wait(60), "the load did not get going"

    # When the whole stack (app, engine keeper and engine) is killed with SIGKILL
    processes = descendants(stack.process.pid)
    for pid in [*processes, stack.process.pid]:
        os.kill(pid, signal.SIGKILL)
    for thread in threads:
        thread.join(30)
    stack.process.wait(10)
    assert wait_until_gone(processes) == []

    # Then after a new start every accepted submission is stored and counted once
    restarted = start_local_stack(*PERSISTENT, data_dir=data_dir)
    stored = {item["pk"]["S"].removeprefix("SUB#") for item in restarted.items("SUB#")}
    missing = [sid for sid, _ in accepted if sid not in stored]
    assert missing == [], f"{len(missing)} of {len(accepted)} acknowledged submissions lost"
    restarted.wait_until_aggregated()
    assert restarted.rollup_histogram() == restarted.raw_histogram()
    assert restarted.raw_histogram() >= Counter(number for _, number in accepted)
    assert restarted.stop() == 0


def test_the_engine_never_outlives_a_killed_stack(start_local_stack, tmp_path):
    stack = start_local_stack(*PERSISTENT, data_dir=tmp_path / "data")
    engine = descendants(stack.process.pid)
    assert any("DynamoDBLocal.jar" in Path(f"/proc/{p}/cmdline").read_text() for p in engine)

    stack.process.send_signal(signal.SIGKILL)
    stack.process.wait(10)

    assert wait_until_gone(engine) == [], "DynamoDB Local outlived the stack"
    # And the data dir is free for the next stack
    assert start_local_stack(*PERSISTENT, data_dir=tmp_path / "data").stop() == 0


def test_an_ephemeral_stack_neither_reads_nor_changes_the_data_dir(
    start_local_stack, http, tmp_path
):
    data_dir = tmp_path / "data"
    persistent = start_local_stack(*PERSISTENT, data_dir=data_dir)
    assert submit(http, persistent, {"number": 5}).status_code == 201
    persistent.wait_until_aggregated()
    assert persistent.stop() == 0

    ephemeral = start_local_stack("--ephemeral", *PERSISTENT, data_dir=data_dir)
    assert ephemeral.raw_histogram() == Counter()
    assert submit(http, ephemeral, {"number": 1}).status_code == 201
    assert ephemeral.stop() == 0

    again = start_local_stack(*PERSISTENT, data_dir=data_dir)
    assert again.raw_histogram() == Counter({5: 1})
    assert again.stop() == 0


def test_only_loopback_sockets_listen_in_this_machines_namespace(local_stack: LaunchedStack):
    """DynamoDB Local binds every interface and has no option against it: it must
    not be reachable from other machines. Read, not probed: /proc/net/tcp*."""
    tree = [local_stack.process.pid, *descendants(local_stack.process.pid)]
    owner = {inode: pid for pid in tree for inode in socket_inodes(pid)}
    listening = [
        (address, owner[inode]) for address, inode in listening_sockets() if inode in owner
    ]

    assert listening, "the stack listens on nothing?"
    assert all(is_loopback(address) for address, _ in listening), listening
    engine = [p for p in tree if "DynamoDBLocal.jar" in Path(f"/proc/{p}/cmdline").read_text()]
    assert engine, "no DynamoDB Local below the stack"
    assert not any(pid in engine for _, pid in listening), (
        "DynamoDB Local listens in this machine's network namespace"
    )


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def listening_sockets() -> list[tuple[str, str]]:
    """(local address in hex, inode) of every TCP socket in LISTEN state here."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                found.append((fields[1].split(":")[0], fields[9]))
    return found


def is_loopback(address: str) -> bool:
    if len(address) == 8:  # IPv4, little-endian: 127.x.x.x ends in 7F
        return address.endswith("7F")
    # IPv6 ::1, or an IPv4-mapped loopback address
    return address == "00000000000000000000000001000000" or (
        address.startswith("0000000000000000FFFF0000") and address.endswith("7F")
    )
