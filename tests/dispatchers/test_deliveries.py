"""A node's delivery loop: claims due deliveries and sends them side by side in threads."""
import threading

import pytest
from django.utils import timezone

from destinations.models import Delivery
from destinations.services import destination_create
from dispatchers.deliveries import run_deliveries
from feed.models import Post
from scheduling.models import ScheduledPost
from stack.receiver import Receiver
from stack.waiting import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_sends_every_due_delivery_once(django_user_model, settings, tmp_path):
    settings.PSCHED_WEBHOOK_ALLOW_PRIVATE = True
    settings.PSCHED_DELIVERY_CLAIM_LIMIT = 4
    server = Receiver(free_port(), str(tmp_path / "record"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        author = django_user_model.objects.create_user("deliverer")
        destination, server.secret = destination_create(
            owner=author, name="hook", kind="webhook", config={"url": f"http://127.0.0.1:{server.server_address[1]}/"}
        )
        now = timezone.now()
        for i in range(10):
            scheduled = ScheduledPost.objects.create(author=author, text=f"p{i}", publish_at=now, due_at=now, status="published", published_at=now)
            post = Post.objects.create(author=author, text=f"p{i}", published_at=now, scheduled_post=scheduled)
            Delivery.objects.create(post=post, scheduled_post=scheduled, destination=destination, key=f"msg_{i}", next_try_at=now)
        report = run_deliveries(node_name="n1", seconds=30, idle_seconds=0)
        assert (report.claimed, report.delivered) == (10, 10)
        assert Delivery.objects.filter(state="delivered").count() == 10
        lines = [line.split() for line in (tmp_path / "record").read_text().splitlines()]
        assert sorted(line[0] for line in lines) == sorted(f"msg_{i}" for i in range(10))
        assert {line[2] for line in lines} == {"applied"}
    finally:
        server.shutdown()
        server.server_close()


def test_a_delivery_task_that_ran_out_of_time_asks_for_the_next(settings, monkeypatch):
    from dispatchers import tasks

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kick"}}
    monkeypatch.setenv("PSCHED_NODE_NAME", "n1")
    queued = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, queue: queued.append((args, queue)))
    monkeypatch.setattr(tasks, "DELIVER_SECONDS", 0)
    tasks.deliver("n1")
    assert queued == [(["n1"], "dispatch.n1")]
    assert not tasks.deliveries_kick(node_name="n1")  # one at a time per node



def test_publishing_wakes_the_delivery_loop_of_this_process_or_asks_for_a_task(settings, monkeypatch):
    from dispatchers import deliveries, tasks
    from stack.waiting import wait_for

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "wake"}}
    queued = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, queue: queued.append((args, queue)))
    tasks.deliveries_published(node_name="n1")  # no loop runs in this process: a task is asked for
    assert queued == [(["n1"], "dispatch.n1")]
    tasks.cache.clear()

    class Done(Exception):
        pass

    looked, woken = [], threading.Event()

    def claim(**kwargs):
        if woken.is_set():
            raise Done
        looked.append(kwargs["now"])
        if len(looked) == 2:
            woken.set()
        return []

    def loop():
        try:
            deliveries.run_deliveries(node_name="n1", seconds=60, idle_seconds=60)
        except Done:
            pass

    monkeypatch.setattr(deliveries, "deliveries_claim", claim)
    monkeypatch.setattr(deliveries, "deliveries_release_expired", lambda now: 0)
    monkeypatch.setattr(deliveries, "IDLE_POLL_SECONDS", 30)  # only a wake-up ends a wait in time
    thread = threading.Thread(target=loop)
    thread.start()
    try:
        wait_for(lambda: looked, 10, what="the loop's first claim")
        tasks.deliveries_published(node_name="n1")  # the loop runs here: it is woken, no task asked for
        assert woken.wait(5), "the loop did not look again at once"
        assert len(queued) == 1
    finally:
        woken.set()
        deliveries._wake.set()
        thread.join(40)
    assert not thread.is_alive() and deliveries._loops["running"] == 0
