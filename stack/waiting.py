"""Ports and waiting for a state (never a fixed sleep)."""
import fcntl
import random
import socket
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path


# Ports for the test processes' servers: below the kernel's ephemeral range (Debian's
# ip_local_port_range starts at 32768), so no outgoing connection holds one, and each reserved by
# a lock file that its test process holds until it exits, so no two test processes are given the
# same port. (A port the kernel picked at random and then let go could be picked again by another
# xdist worker before our server bound it: that server failed to start, and the other's answered
# in its place until it stopped.)
PORTS = range(20000, 32000)
PORT_LOCKS = Path(tempfile.gettempdir()) / "psched-ports"
_reserved: list = []  # the open lock files: a flock lasts as long as its file is open


def free_port() -> int:
    """A port that nothing listens on and that no other process of the tests has reserved."""
    PORT_LOCKS.mkdir(exist_ok=True)
    for _ in range(1000):
        port = random.choice(PORTS)
        lock = open(PORT_LOCKS / str(port), "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port))
        except OSError:  # reserved by another test process, or in use
            lock.close()
            continue
        _reserved.append(lock)
        return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int, address: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((address, port)) == 0


def at(seconds_from_now: float) -> str:
    """An ISO 8601 UTC time this many seconds from now (a publish_at for the API)."""
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)).isoformat()
