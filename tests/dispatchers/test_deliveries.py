"""A node's delivery loop: claims due deliveries and sends them side by side in threads."""
import threading
import time

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


@pytest.fixture
def hook(django_user_model, settings, tmp_path):
    """A webhook destination to a receiver on 127.0.0.1 (which checks each signature and
    records each webhook-id in the file given back beside the destination)."""
    settings.PSCHED_WEBHOOK_ALLOW_PRIVATE = True
    server = Receiver(free_port(), str(tmp_path / "record"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        author = django_user_model.objects.create_user("deliverer")
        destination, server.secret = destination_create(
            owner=author, name="hook", kind="webhook", config={"url": f"http://127.0.0.1:{server.server_address[1]}/"}
        )
        yield destination, tmp_path / "record"
    finally:
        server.shutdown()
        server.server_close()


def published_with_deliveries(destination, keys) -> list[int]:
    """A published post for each key, with a delivery to `destination` due now; their ids."""
    author, now, ids = destination.owner, timezone.now(), []
    for i, key in enumerate(keys):
        scheduled = ScheduledPost.objects.create(author=author, text=f"p{i}", publish_at=now, due_at=now, status="published", published_at=now)
        post = Post.objects.create(author=author, text=f"p{i}", published_at=now, scheduled_post=scheduled)
        ids.append(Delivery.objects.create(post=post, scheduled_post=scheduled, destination=destination, key=key, next_try_at=now).pk)
    return ids


def test_it_sends_every_due_delivery_once(hook, settings):
    destination, record = hook
    settings.PSCHED_DELIVERY_CLAIM_LIMIT = 4
    published_with_deliveries(destination, [f"msg_{i}" for i in range(10)])
    report = run_deliveries(node_name="n1", seconds=30, idle_seconds=0)
    assert (report.claimed, report.delivered) == (10, 10)
    assert Delivery.objects.filter(state="delivered").count() == 10
    lines = [line.split() for line in record.read_text().splitlines()]
    assert sorted(line[0] for line in lines) == sorted(f"msg_{i}" for i in range(10))
    assert {line[2] for line in lines} == {"applied"}


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


def test_a_claim_sent_for_longer_than_its_lease_stays_its_nodes(django_user_model, settings, monkeypatch):
    """A loaded node's claim may take longer than the lease to send: the node renews the lease
    while the sends run, so another node neither takes them for a dead node's (unconfirmed, read
    back, sent again) nor claims them, and the node's outcomes are recorded."""
    from destinations.kinds import Outcome
    from destinations.services import deliveries_claim, deliveries_release_expired
    from dispatchers import deliveries
    from psched.lib.db import db_now

    settings.PSCHED_WEBHOOK_ALLOW_PRIVATE = True
    # 2 s: renewed every 0.5 s, which leaves a loaded machine 1.5 s to hold the renewing thread back.
    settings.PSCHED_DELIVERY_LEASE_SECONDS = 2.0
    settings.PSCHED_DELIVERY_CLAIM_LIMIT = 2
    author = django_user_model.objects.create_user("slow")
    destination, _ = destination_create(owner=author, name="hook", kind="webhook", config={"url": "http://127.0.0.1:9/"})
    now = timezone.now()
    for i in range(3):
        scheduled = ScheduledPost.objects.create(author=author, text=f"p{i}", publish_at=now, due_at=now, status="published", published_at=now)
        post = Post.objects.create(author=author, text=f"p{i}", published_at=now, scheduled_post=scheduled)
        Delivery.objects.create(post=post, scheduled_post=scheduled, destination=destination, key=f"msg_{i}", next_try_at=now)
    sending, taken = threading.Event(), []

    def slow_send(*, claim, delivery, clock):
        sending.set()
        time.sleep(5)  # two and a half leases
        return Outcome("delivered", status=200)

    def other_node():  # what another node's tick and delivery loop do meanwhile
        from django.db import connection

        sending.wait(10)
        # n1 claims two, starts sending them and claims the third: until then the third is
        # pending, and n2 may rightly claim it.
        deadline = time.monotonic() + 10
        while Delivery.objects.filter(state="pending").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            taken.append(deliveries_release_expired(now=db_now()))
            taken.append(len(deliveries_claim(node_name="n2", now=db_now(), limit=10)))
            time.sleep(0.1)
        connection.close()

    monkeypatch.setattr(deliveries, "delivery_send", slow_send)
    thread = threading.Thread(target=other_node)
    thread.start()
    report = deliveries.run_deliveries(node_name="n1", seconds=30, idle_seconds=0)
    thread.join(30)
    assert not any(taken), "another node released or claimed what n1 was still sending"
    assert (report.claimed, report.delivered) == (3, 3)
    assert list(Delivery.objects.values_list("state", "attempts", "claimed_by").distinct()) == [("delivered", 1, "n1")]


def test_fresh_deliveries_handed_over_are_sent_at_once_and_recorded_by_the_loop(hook, monkeypatch):
    """The deliveries a publishing answer names are claimed by their ids and sent from the
    answer's thread, not when the loop's next search finds them: the loop only records them.
    With no loop running in the process, nothing is claimed (the caller asks for a task)."""
    from dispatchers import deliveries
    from stack.waiting import wait_for

    destination, record = hook
    ids = published_with_deliveries(destination, ["msg_f0", "msg_f1"])
    assert not deliveries.deliveries_fresh_send(node_name="n1", ids=ids)  # no loop runs here
    assert Delivery.objects.filter(state="pending").count() == 2

    monkeypatch.setattr(deliveries, "deliveries_claim", lambda **kwargs: [])  # the loop's search finds nothing
    reports = []

    def loop():
        from django.db import connection

        try:
            reports.append(deliveries.run_deliveries(node_name="n1", seconds=30, idle_seconds=2))
        finally:
            connection.close()

    thread = threading.Thread(target=loop)
    thread.start()
    wait_for(lambda: deliveries._handoff["accepting"], 10, what="the loop taking handoffs")
    assert deliveries.deliveries_fresh_send(node_name="n1", ids=ids)
    thread.join(30)
    assert not thread.is_alive()
    assert (reports[0].claimed, reports[0].delivered) == (2, 2)
    assert list(Delivery.objects.values_list("state", "attempts", "claimed_by").distinct()) == [("delivered", 1, "n1")]
    lines = [line.split() for line in record.read_text().splitlines()]
    assert sorted((line[0], line[2]) for line in lines) == [("msg_f0", "applied"), ("msg_f1", "applied")]
    assert (deliveries._handoff["accepting"], deliveries._handoff["handing"], deliveries._handed) == (0, 0, [])
    assert deliveries._loops["running"] == 0
