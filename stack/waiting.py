"""Ports and waiting for a state (never a fixed sleep)."""
import socket
import time
from datetime import datetime, timedelta, timezone


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
