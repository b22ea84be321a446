from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from dispatchers.models import DispatcherNode

from dispatchers.services import node_register


def run(*args) -> str:
    out = StringIO()
    call_command("dispatcher_list", *args, stdout=out)
    return out.getvalue()


def test_it_lists_nodes_with_state_weight_last_tick_pending_and_publishing(alice, node, scheduled_posts_factory):
    node_register(name="n2", weight=50)
    node.last_seen = timezone.now()
    node.save()
    scheduled_posts_factory(alice, 3)
    lines = run().splitlines()
    assert lines[0].split() == ["NAME", "STATE", "WEIGHT", "LAST", "TICK", "CLOCK", "OFFSET", "PENDING", "PUBLISHING"]
    assert lines[1].split()[:3] == ["n1", "active", "100"]
    assert lines[2].split()[:5] == ["n2", "active", "50", "never", "unknown"]
    assert int(lines[1].split()[-2]) + int(lines[2].split()[-2]) == 3
    assert lines[1].split()[-1] == lines[2].split()[-1] == "0"


def test_it_says_when_there_are_no_nodes(db):
    assert "No dispatcher nodes yet" in run()


def test_it_shows_each_nodes_clock_offset_from_the_database(node):
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now(), clock_offset_ms=-30250)
    (row,) = run().splitlines()[1:]
    assert "-30.2 s" in row
