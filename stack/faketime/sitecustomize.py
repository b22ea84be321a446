"""Loaded (through PYTHONPATH, stack.processes.clock_env) by every Python process on a test
host whose wall clock libfaketime skews. The hosts run with FAKETIME_DONT_FAKE_MONOTONIC=1, as a
real host whose clock is off: only the wall clock is wrong, intervals and timed waits are true.
(With the monotonic clock faked too, libfaketime 0.9.10 makes a timed wait on a lock or an event
overrun by far: threading.Event().wait(1) did not return within 5 s, and a node on such a host
never hedged a callback.) But with it, libfaketime fails time.sleep, which Python makes with
clock_nanosleep on the monotonic clock, with EINVAL: here time.sleep waits on an event instead,
whose timeout runs by the true monotonic clock."""
import threading
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(min(seconds, threading.TIMEOUT_MAX))


time.sleep = _sleep
