"""beat does not pile ticks up on the queue of a node that is not running."""
import uuid
from types import SimpleNamespace

import pytest

from dispatchers.beat import TICK_BACKLOG, TickScheduler
from dispatchers.services import TICK_TASK
from psched.celery import app


@pytest.fixture
def queue():
    name = f"dispatch.test-{uuid.uuid4().hex[:8]}"
    yield name
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(name)


def test_it_stops_sending_ticks_to_a_queue_nobody_takes_them_from(queue):
    scheduler = TickScheduler(app=app, lazy=True)
    entry = SimpleNamespace(task=TICK_TASK, options={"queue": queue}, name=f"tick {queue}", args=["x"], kwargs={})
    assert scheduler._queue_size(queue) == 0
    for _ in range(TICK_BACKLOG):
        app.send_task(TICK_TASK, args=["x"], queue=queue, routing_key=queue)
    assert scheduler._queue_size(queue) == TICK_BACKLOG
    assert scheduler.apply_async(entry, advance=False) is None  # not sent
    assert scheduler._queue_size(queue) == TICK_BACKLOG
