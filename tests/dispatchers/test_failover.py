from datetime import timedelta

from django.utils import timezone

from dispatchers.models import DispatcherNode
from dispatchers.services import node_register
from dispatchers.tick import run_tick

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
