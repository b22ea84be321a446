"""The embedded broker of `make run` (psched/broker.py) under load: several producer processes
and two real Celery workers on the same folders. kombu's own file-system transport let a
worker read a message another process had not finished writing; the worker then stopped with
"Unrecoverable error" (JSONDecodeError). Here no message is lost or run twice, a malformed file
is moved aside, and the workers never stop."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PRODUCERS = 4
# Enough for the race to happen hundreds of times (each message is a file written while two
# workers list and take the folder), few enough that the folder scans stay short.
MESSAGES = 5_000
STALL_SECONDS = 60
MALFORMED = [b"", b"{", b'{"body": "', b"not json at all", b'{"body": "x", "properties": {}}', b"[1, 2, 3]"]


def received_numbers(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def received_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.timeout(1800)  # about a minute on an idle 2-core machine; much more when it is shared
def test_no_message_is_lost_or_run_twice_and_the_workers_never_stop(tmp_path):
    received = tmp_path / "received"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PSCHED_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "filesystem://", "STRESS_RECEIVED": str(received),
    }
    messages = tmp_path / "broker" / "messages"
    messages.mkdir(parents=True)
    workers = [
        subprocess.Popen(
            # Two workers race for each message (a node can run two), each as a node runs.
            [sys.executable, "-m", "celery", "-A", "tests.integration.broker_app", "worker", "--pool", "threads",
             "--concurrency", "4", "--hostname", f"stress{i}@%h", "--loglevel", "WARNING"],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=(tmp_path / f"worker{i}.log").open("w"),
        )
        for i in range(2)
    ]
    share = MESSAGES // PRODUCERS
    producers = [
        subprocess.Popen([sys.executable, "-m", "tests.integration.broker_app", str(i * share), str(share)],
                         cwd=ROOT, env=environment)
        for i in range(PRODUCERS)
    ]
    try:
        # Malformed files among the messages, as a writer killed half-way (or kombu's old
        # create-then-write) leaves them: each is moved aside and the workers go on.
        for i, data in enumerate(MALFORMED):
            (messages / f"{i}_malformed-{i}.stress.msg").write_bytes(data)
        for producer in producers:
            assert producer.wait(timeout=300) == 0
        # Wait while the workers make progress (a loaded machine is slow, a stuck one is not).
        count, progress_at = 0, time.monotonic()
        while count < MESSAGES and time.monotonic() - progress_at < STALL_SECONDS:
            for i, worker in enumerate(workers):
                assert worker.poll() is None, f"worker {i} stopped: {(tmp_path / f'worker{i}.log').read_text()[-3000:]}"
            time.sleep(0.5)
            if received_count(received) > count:
                count, progress_at = received_count(received), time.monotonic()
        # A warm shutdown: each worker puts back what it holds unacknowledged (nothing by now).
        for worker in workers:
            assert worker.poll() is None, "a worker stopped"
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    finally:
        for process in (*workers, *producers):
            if process.poll() is None:
                process.kill()
                process.wait()
    numbers = received_numbers(received)
    assert len(numbers) == MESSAGES and set(numbers) == set(range(MESSAGES)), (
        f"{MESSAGES - len(set(numbers))} lost, {len(numbers) - len(set(numbers))} run twice"
    )
    assert sorted(path.name for path in (messages / "malformed").iterdir()) == sorted(
        f"{i}_malformed-{i}.stress.msg" for i in range(len(MALFORMED))
    )
    assert not [name for name in os.listdir(messages) if name.endswith(".msg")]
    assert not os.listdir(messages / "processing")
    logs = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(2))
    assert "Unrecoverable error" not in logs and logs.count("moved a malformed message") == len(MALFORMED)
