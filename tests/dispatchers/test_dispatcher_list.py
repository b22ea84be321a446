from io import StringIO

from django.core.management import call_command
from django.utils import timezone

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
    assert lines[0].split() == ["NAME", "STATE", "WEIGHT", "LAST", "TICK", "PENDING", "PUBLISHING"]
    assert lines[1].split()[:3] == ["n1", "active", "100"]
    assert lines[2].split()[:4] == ["n2", "active", "50", "never"]
    assert int(lines[1].split()[-2]) + int(lines[2].split()[-2]) == 3
    assert lines[1].split()[-1] == lines[2].split()[-1] == "0"


def test_it_says_when_there_are_no_nodes(db):
    assert "No dispatcher nodes yet" in run()
