"""`python -m infra.local.engine_sandbox SOCKET -- java ...`: DynamoDB Local's keeper.

Started by `infra.local.engine`, usually inside a network namespace of its own
(`unshare --net`), where the engine's port is reachable from nothing but this
process: DynamoDB Local has no bind-address option and accepts any credentials.
The keeper brings the namespace's loopback up, starts the engine as its child,
and relays each connection made to the Unix socket SOCKET (a file, so it is
reachable from the stack's namespace) to the engine's TCP port.

It never outlives the stack: it stops the engine and exits when its parent
dies (Linux's parent-death signal, and a watchdog for other platforms) or when
it receives SIGTERM/SIGINT. Standard library only: it starts before anything else.
"""

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Final

SIOCGIFFLAGS: Final = 0x8913
SIOCSIFFLAGS: Final = 0x8914
IFF_UP: Final = 0x1
PR_SET_PDEATHSIG: Final = 1
READY_TIMEOUT_SECONDS: Final = 60
CHUNK: Final = 256 * 1024


def die_with_parent(sig: int) -> None:
    """Linux: the kernel sends `sig` to this process when its parent exits."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)


def bring_up_loopback() -> None:
    """A new network namespace starts with its loopback interface down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(probe, SIOCGIFFLAGS, request))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(probe, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def wait_for_port(port: int, engine: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if engine.poll() is not None:
            raise SystemExit(f"DynamoDB Local exited with status {engine.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit("DynamoDB Local did not open its port in time")
        time.sleep(0.05)


def pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def relay(client: socket.socket, port: int) -> None:
    with client:
        try:
            upstream = socket.create_connection(("127.0.0.1", port))
        except OSError:
            return
        with upstream:
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
            back.start()
            pump(client, upstream)
            back.join()


def main(argv: list[str]) -> int:
    socket_path, port_text, separator, *engine_command = argv
    if separator != "--" or not engine_command:
        raise SystemExit("usage: engine_sandbox SOCKET PORT -- COMMAND...")
    port = int(port_text)
    die_with_parent(signal.SIGTERM)
    parent = os.getppid()
    if os.environ.get("ENGINE_SANDBOX_NETNS") == "1":
        bring_up_loopback()
    engine = subprocess.Popen(
        engine_command, preexec_fn=lambda: die_with_parent(signal.SIGTERM), stdin=subprocess.DEVNULL
    )
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        wait_for_port(port, engine)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(socket_path)
        listener.listen(128)
        listener.settimeout(0.5)
        while not stopping.is_set() and engine.poll() is None and os.getppid() == parent:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            threading.Thread(target=relay, args=(client, port), daemon=True).start()
        listener.close()
    finally:
        if engine.poll() is None:
            engine.terminate()
            try:
                engine.wait(timeout=10)
            except subprocess.TimeoutExpired:
                engine.kill()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
