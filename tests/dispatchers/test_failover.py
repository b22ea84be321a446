from datetime import timedelta

from django.db import connection
from django.utils import timezone

from dispatchers.models import DispatcherNode
from dispatchers.services import claim_due_posts, node_heartbeat, node_register
from dispatchers.tick import run_tick
from scheduling.models import ScheduledPost

State = DispatcherNode.State


def silent_for(seconds, *names):
    DispatcherNode.objects.filter(name__in=names).update(last_seen=timezone.now() - timedelta(seconds=seconds))


def test_a_pause_of_beat_marks_no_node_down(db):
    node_register(name="a")
    node_register(name="b")
    silent_for(7, "a", "b")  # beat was away for 7 s: longer than down_after() (5 s)
    run_tick(node_name="a", credential="unused")  # a's first tick since: it judges nobody
    assert DispatcherNode.objects.get(name="b").state == State.ACTIVE
    run_tick(node_name="b", credential="unused")  # beat pokes b at the same time
    silent_for(1, "a")  # a's next tick, one interval later
    run_tick(node_name="a", credential="unused")
    assert set(DispatcherNode.objects.values_list("state", flat=True)) == {State.ACTIVE}


def test_a_node_that_ticks_marks_a_silent_one_down(db):
    node_register(name="a")
    node_register(name="b")
    silent_for(30, "b")
    silent_for(1, "a")
    run_tick(node_name="a", credential="unused")
    assert DispatcherNode.objects.get(name="b").state == State.DOWN
    assert DispatcherNode.objects.get(name="a").state == State.ACTIVE


def test_a_node_marked_down_has_its_claims_released_at_once(db, alice, scheduled_posts_factory):
    node_register(name="a")
    b, _ = node_register(name="b")
    posts = scheduled_posts_factory(alice, 4, seconds=60)
    ScheduledPost.objects.update(dispatcher=b)
    claim_due_posts(node=b, now=timezone.now(), horizon=timezone.now() + timedelta(minutes=2), limit=10)
    silent_for(30, "b")
    silent_for(1, "a")
    run_tick(node_name="a", credential="unused")
    assert DispatcherNode.objects.get(name="b").state == State.DOWN
    # Not after the lease (30 s from the horizon): now, and rerouted to a.
    assert set(ScheduledPost.objects.values_list("status", "dispatcher__name")) == {("pending", "a")}
    assert len(posts) == 4


def test_a_repeated_tick_is_dropped(db):
    node_register(name="a")
    silent_for(1, "a")
    assert not run_tick(node_name="a", credential="unused").dropped
    assert run_tick(node_name="a", credential="unused").dropped  # a second beat, or a backlog


def test_a_tick_the_worker_made_by_itself_does_not_count_as_beats(db):
    node_register(name="a")
    silent_for(1, "a")
    run_tick(node_name="a", credential="unused", from_beat=False)
    node = DispatcherNode.objects.get(name="a")
    assert node.last_seen is not None and node.beat_seen is None
    silent_for(1, "a")
    run_tick(node_name="a", credential="unused")
    assert DispatcherNode.objects.get(name="a").beat_seen is not None


def test_a_heartbeat_does_not_undo_a_drain_made_while_it_runs(db):
    node, _ = node_register(name="a")
    DispatcherNode.objects.filter(pk=node.pk).update(state=State.DOWN, last_seen=timezone.now() - timedelta(minutes=1))
    drained = []

    def drain_first(execute, sql, params, many, context):
        # The operator drains the node between the heartbeat's read and its write.
        if not drained and sql.startswith("UPDATE") and "state" in sql:
            drained.append(True)
            DispatcherNode.objects.filter(pk=node.pk).update(state=State.DRAINING)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(drain_first):
        beat = node_heartbeat(name="a", now=timezone.now())
    assert drained
    assert beat[0].state == State.DRAINING
    assert DispatcherNode.objects.get(pk=node.pk).state == State.DRAINING


def test_a_node_still_starting_is_not_marked_down(db):
    node_register(name="a")
    node_register(name="b")  # registered, its worker not ready yet: it has never ticked
    DispatcherNode.objects.filter(name="b").update(created_at=timezone.now() - timedelta(seconds=30))
    silent_for(1, "a")
    run_tick(node_name="a", credential="unused")
    assert DispatcherNode.objects.get(name="b").state == State.ACTIVE
    DispatcherNode.objects.filter(name="b").update(created_at=timezone.now() - timedelta(minutes=5))
    silent_for(1, "a")
    run_tick(node_name="a", credential="unused")
    assert DispatcherNode.objects.get(name="b").state == State.DOWN  # it never came up
