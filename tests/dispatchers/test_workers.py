import threading
"""Liveness per worker process, and a claim whose COMMIT's answer was lost."""
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from dispatchers import tick
from dispatchers.models import DispatcherNode, DispatcherWorker
from dispatchers.services import WorkerGone, claim_due_posts, node_register, worker_heartbeat, worker_register
from dispatchers.tick import run_tick
from scheduling.models import ScheduledPost


def silent_for(seconds, *names):
    DispatcherNode.objects.filter(name__in=names).update(last_seen=timezone.now() - timedelta(seconds=seconds))


def claim(node, worker=None, limit=100):
    now = timezone.now()
    return claim_due_posts(node=node, now=now, horizon=now + timedelta(minutes=2), limit=limit, worker=worker)


def test_a_gone_worker_has_its_claims_released_though_its_node_lives_on(db, alice, scheduled_posts_factory):
    node, _ = node_register(name="a")
    old = worker_register(node=node)  # SIGKILLed, and restarted at once as `new`
    new = worker_register(node=node)
    scheduled_posts_factory(alice, 6, seconds=60)
    ScheduledPost.objects.update(dispatcher=node)
    old_claims = claim(node, worker=old.claim_prefix, limit=3)
    new_claims = claim(node, worker=new.claim_prefix)
    assert len(old_claims) == 3 and len(new_claims) == 3
    DispatcherWorker.objects.filter(pk=old.pk).update(last_seen=timezone.now() - timedelta(seconds=6))
    silent_for(1, "a")  # the node itself ticks on, through its new worker
    run_tick(node_name="a", credential="unused", worker=new.claim_prefix)
    # Not after the lease (30 s from the horizon): now, back to pending for the node's live worker.
    statuses = dict(ScheduledPost.objects.values_list("pk", "status"))
    assert {statuses[c.scheduled_post] for c in old_claims} == {"pending"}
    assert {statuses[c.scheduled_post] for c in new_claims} == {"publishing"}
    assert not DispatcherWorker.objects.filter(pk=old.pk).exists()
    assert DispatcherNode.objects.get(name="a").state == DispatcherNode.State.ACTIVE


def test_a_worker_that_beats_keeps_its_claims(db, alice, scheduled_posts_factory):
    node, _ = node_register(name="a")
    worker = worker_register(node=node)
    scheduled_posts_factory(alice, 2, seconds=60)
    ScheduledPost.objects.update(dispatcher=node)
    claim(node, worker=worker.claim_prefix)
    DispatcherWorker.objects.update(last_seen=timezone.now() - timedelta(seconds=6))
    assert worker_heartbeat(claim_prefix=worker.claim_prefix)
    silent_for(1, "a")
    run_tick(node_name="a", credential="unused", worker=worker.claim_prefix)
    assert set(ScheduledPost.objects.values_list("status", flat=True)) == {"publishing"}


def test_a_worker_judged_gone_claims_nothing_with_its_old_prefix(db, alice, scheduled_posts_factory):
    node, _ = node_register(name="a")
    worker = worker_register(node=node)
    scheduled_posts_factory(alice, 2, seconds=60)
    ScheduledPost.objects.update(dispatcher=node)
    DispatcherWorker.objects.all().delete()  # released by another node's sweep while it was paused
    with pytest.raises(WorkerGone):
        claim(node, worker=worker.claim_prefix)
    assert set(ScheduledPost.objects.values_list("status", flat=True)) == {"pending"}
    assert not worker_heartbeat(claim_prefix=worker.claim_prefix)  # so its heartbeat registers anew


@pytest.mark.django_db(transaction=True)
def test_a_claim_whose_commit_answer_was_lost_is_found_by_its_token(alice, scheduled_posts_factory, monkeypatch):
    node, _ = node_register(name="a")
    scheduled_posts_factory(alice, 3, seconds=0.5)
    ScheduledPost.objects.update(dispatcher=node)
    silent_for(1, "a")
    real_commit = connection._commit
    lost = []

    def commit_then_lose_the_answer():
        real_commit()
        if not lost and ScheduledPost.objects.filter(status="publishing").exists():
            lost.append(True)
            raise OperationalError(2013, "Lost connection to server during query")

    monkeypatch.setattr(connection, "_commit", commit_then_lose_the_answer)
    published = []
    monkeypatch.setattr(tick, "_publish_batch",
                        lambda node, credential, batch, report, **kw: published.extend(batch) or (lambda: None))
    report = run_tick(node_name="a", credential="unused", sleep=lambda seconds: None)
    assert lost
    # The rows were found by the claim's token and sent at once, not left for their lease.
    assert sorted(c.scheduled_post for c in published) == sorted(ScheduledPost.objects.values_list("pk", flat=True))
    assert report.claimed == 3
    assert not tick._unresolved


def test_a_worker_or_beat_started_while_the_database_is_down_waits_for_it(db, monkeypatch):
    from psched.lib import db as lib_db

    real = connection.ensure_connection
    failures = [OperationalError(2003, "Can't connect to MySQL server")] * 3

    def flaky():
        if failures:
            raise failures.pop()
        real()

    monkeypatch.setattr(connection, "ensure_connection", flaky)
    monkeypatch.setattr(connection, "close", lambda: None)  # the test's transaction stays open
    monkeypatch.setattr(lib_db.time, "sleep", lambda seconds: None)
    said = []
    lib_db.database_wait(log=said.append)
    assert not failures
    assert said[0].startswith("waiting for the database") and said[-1] == "the database answers; starting"


def test_claims_whose_failure_could_not_be_recorded_are_sent_again_at_the_next_tick(db, alice, scheduled_posts_factory, monkeypatch):
    node, _ = node_register(name="a")
    scheduled_posts_factory(alice, 2, seconds=0.5)
    ScheduledPost.objects.update(dispatcher=node)
    silent_for(1, "a")
    calls = []

    def callback(*, node_name, credential, claims, at=None, **_):
        calls.append([claim.scheduled_post for claim in claims])
        if len(calls) == 1:
            raise tick.requests.ConnectionError("503: the database is away")
        return [{"scheduled_post": claim.scheduled_post, "post": 1} for claim in claims]

    def database_away(**kwargs):
        raise OperationalError(2013, "Lost connection to server during query")

    monkeypatch.setattr(tick, "publish_callback", callback)
    monkeypatch.setattr(tick, "claims_record_failure", database_away)
    monkeypatch.setattr(connection, "close", lambda: None)  # the test's transaction stays open
    run_tick(node_name="a", credential="unused", sleep=lambda seconds: None)
    silent_for(1, "a")
    report = run_tick(node_name="a", credential="unused", sleep=lambda seconds: None)
    # Sent again with the same claims at once, not after their lease.
    assert len(calls) == 2 and sorted(calls[0]) == sorted(calls[1])
    assert report.published == 2
    assert not tick._carried


def test_a_self_tick_stuck_on_a_slow_callback_holds_back_neither_the_next_ones_nor_the_heartbeat():
    """While beat is silent the worker ticks by itself; a tick waiting for a slow callback must
    not stop the next ones (which carry the node's heartbeat), or the node is judged down."""
    from dispatchers import worker
    from stack.waiting import wait_for

    release, stop, calls = threading.Event(), threading.Event(), []

    def tick(node_name, *, from_beat):
        calls.append(from_beat)
        if len(calls) == 1:
            release.wait(30)  # the first waits for a callback that does not answer

    thread = threading.Thread(target=worker._tick_while_beat_is_silent, args=("n1", tick, stop), daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(calls) >= 3, 30, interval=0.05, what="ticks after the stuck one")
        assert not release.is_set() and calls[:3] == [False, False, False]
    finally:
        release.set()
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_a_node_process_limits_how_long_its_transactions_may_idle_and_wait_for_locks(monkeypatch):
    """A node paused in the middle of a transaction held its row locks for the whole pause, and
    another node's statement waited 50 s behind them: a node's connections carry limits on
    both, also after a claim (whose own, shorter idle limit ends with it)."""
    from psched.lib import db

    if not getattr(connection, "mysql_is_mariadb", False):
        pytest.skip("MariaDB's idle_transaction_timeout")
    monkeypatch.setattr(db, "_session_limits", {})
    try:
        db.session_limits_set(idle_transaction_seconds=5, lock_wait_seconds=4)

        def limits():
            with connection.cursor() as cursor:
                cursor.execute("SELECT @@session.idle_transaction_timeout, @@session.innodb_lock_wait_timeout")
                return cursor.fetchone()

        assert limits() == (5, 4)  # the connection open when they were set
        connection.close()
        assert limits() == (5, 4)  # a new one
        with db.idle_transaction_limit(2):
            assert limits() == (2, 4)
        assert limits() == (5, 4)
    finally:
        from django.db.backends.signals import connection_created

        connection_created.disconnect(dispatch_uid="psched.lib.db.session_limits")
        connection.close()
