"""psched's embedded broker (psched/broker.py), in process: see
tests/integration/test_embedded_broker.py for producers and workers under load."""
import threading
import uuid

import pytest
from kombu import Connection

from psched import broker


@pytest.fixture
def connect(tmp_path):
    folders = {"data_folder_in": str(tmp_path / "messages"), "data_folder_out": str(tmp_path / "messages"),
               "control_folder": str(tmp_path / "control"), "polling_interval": 0.01}
    (tmp_path / "messages").mkdir()
    connections = []

    # kombu keeps the bindings of a process in memory, whatever the folder: a queue of its own
    # per test, so that this test's folder has its binding.
    def make():
        connection = Connection("filesystem://", transport="psched.broker:Transport", transport_options=folders)
        connections.append(connection)
        return connection

    make.queue = f"q{uuid.uuid4().hex[:8]}"
    yield make
    for connection in connections:
        connection.release()


def test_it_uses_psched_transport_for_the_embedded_broker(settings):
    # The settings select it for filesystem:// (settings/celery.py); `make run` runs on it.
    from psched.settings import celery as celery_settings

    assert celery_settings.CELERY_BROKER_URL != "filesystem://" or celery_settings.CELERY_BROKER_TRANSPORT == "psched.broker:Transport"


def test_a_message_appears_whole_under_its_name(connect, tmp_path, monkeypatch):
    seen = []
    replace = broker.os.replace

    def watching(source, target):
        if str(target).endswith(".msg"):
            seen.append(sorted(path.name for path in (tmp_path / "messages").iterdir() if path.name.endswith(".msg")))
        replace(source, target)

    monkeypatch.setattr(broker.os, "replace", watching)
    queue = connect().SimpleQueue(connect.queue)
    queue.put({"n": 1})
    assert seen == [[]]  # written under a temporary name first
    assert queue.get(timeout=10).payload == {"n": 1}


def test_a_malformed_file_is_set_aside_and_the_next_message_delivered(connect, tmp_path, caplog):
    queue = connect().SimpleQueue(connect.queue)
    (tmp_path / "messages" / f"1_half.{connect.queue}.msg").write_text('{"body": "')
    (tmp_path / "messages" / f"2_empty.{connect.queue}.msg").write_text("")
    queue.put({"n": 2})
    message = queue.get(timeout=10)
    message.ack()
    assert message.payload == {"n": 2}
    # The folder's order is the file system's: the good message may come before the bad ones,
    # which the next read then meets and sets aside on its way to finding the queue empty.
    with pytest.raises(queue.Empty):
        queue.get(timeout=1)
    assert sorted(path.name for path in (tmp_path / "messages" / "malformed").iterdir()) == [
        f"1_half.{connect.queue}.msg", f"2_empty.{connect.queue}.msg"]
    assert caplog.text.count("moved a malformed message") == 2


def test_two_consumers_never_take_the_same_message(connect):
    producer = connect().SimpleQueue(connect.queue)
    for n in range(300):
        producer.put({"n": n})
    taken = [[], []]

    def consume(i):
        queue = connect().SimpleQueue(connect.queue)
        while True:
            try:
                message = queue.get(timeout=5)
            except queue.Empty:
                return
            message.ack()
            taken[i].append(message.payload["n"])

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(taken[0] + taken[1]) == list(range(300))


def test_a_fanout_binding_is_kept_whole(connect):
    channel = connect().default_channel
    for i in range(20):
        channel._queue_bind("fan", "", "", f"q{i}")
    channel._queue_bind("fan", "", "", "q3")  # bound already: no change
    assert sorted(row.queue for row in channel.get_table("fan")) == sorted(f"q{i}" for i in range(20))
    channel._delete("q3", "fan", "", "")
    assert "q3" not in [row.queue for row in channel.get_table("fan")]
