"""beat does not pile ticks up on the queue of a node that is not running: in Redis (which
ignores Celery's expiry) nor in the filesystem broker of `make run` (whose directory scan
grows with every file left)."""
import uuid
from types import SimpleNamespace

import pytest
from celery import Celery

from dispatchers.beat import TICK_BACKLOG, TickScheduler
from dispatchers.services import TICK_TASK
from psched.celery import app as psched_app


@pytest.fixture(params=["redis", "filesystem"])
def app(request, tmp_path):
    if request.param == "redis":
        return psched_app  # CELERY_BROKER_URL: the test run's Redis
    folder = tmp_path / "broker"
    folder.mkdir()
    # The transport `make run` uses for filesystem:// (psched/broker.py).
    return Celery("filesystem-broker", broker="filesystem://", broker_transport="psched.broker:Transport",
                  broker_transport_options={
                      "data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(tmp_path / "control"),
                  })


@pytest.fixture
def queue(app):
    name = f"dispatch.test-{uuid.uuid4().hex[:8]}"
    yield name
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(name)


def test_it_stops_sending_ticks_to_a_queue_nobody_takes_them_from(app, queue):
    scheduler = TickScheduler(app=app, lazy=True)
    entry = SimpleNamespace(task=TICK_TASK, options={"queue": queue}, name=f"tick {queue}", args=["x"], kwargs={})
    assert scheduler._queue_size(queue) == 0
    for _ in range(TICK_BACKLOG):
        app.send_task(TICK_TASK, args=["x"], queue=queue, routing_key=queue)
    assert scheduler._queue_size(queue) == TICK_BACKLOG
    for _ in range(5):
        assert scheduler.apply_async(entry, advance=False) is None  # not sent
    assert scheduler._queue_size(queue) == TICK_BACKLOG


@pytest.mark.django_db(transaction=True)  # the scheduler commits and closes old connections itself
def test_a_change_stamped_earlier_than_the_last_one_still_reloads_the_schedule():
    # Two nodes register at once, or one from a host whose clock is behind: the changes row's
    # time moves back. django-celery-beat alone would not reload until its five-minute sync.
    from datetime import timedelta

    from django.utils import timezone
    from django_celery_beat.models import PeriodicTasks

    scheduler = TickScheduler(app=psched_app, lazy=True)
    now = timezone.now()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": now})
    # The first read counts as a change: a node may have registered since beat's first
    # read of the schedule (django-celery-beat alone takes it as its baseline).
    assert scheduler.schedule_changed()
    assert not scheduler.schedule_changed()  # nothing moved
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": now - timedelta(seconds=30)})
    assert scheduler.schedule_changed()
    assert not scheduler.schedule_changed()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": now + timedelta(seconds=1)})
    assert scheduler.schedule_changed()
