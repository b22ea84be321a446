from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dispatchers.models import DispatcherNode
from dispatchers.services import node_register
from scheduling.models import ScheduledPost


def test_it_drains_a_node_and_hands_its_pending_posts_over(alice, node, scheduled_posts_factory):
    scheduled_posts_factory(alice, 20)
    other, _ = node_register(name="n2")
    out = StringIO()
    call_command("dispatcher_drain", "n1", stdout=out)
    node.refresh_from_db()
    assert node.state == DispatcherNode.State.DRAINING
    assert not ScheduledPost.objects.filter(dispatcher=node).exists()
    assert ScheduledPost.objects.filter(dispatcher=other).count() == 20
    assert "20 pending posts moved" in out.getvalue()


def test_it_names_the_known_nodes_for_an_unknown_one(node):
    with pytest.raises(CommandError, match="No dispatcher node named 'zz' .known: n1"):
        call_command("dispatcher_drain", "zz", stdout=StringIO())


def test_it_says_when_no_other_node_can_take_the_posts(alice, node, scheduled_posts_factory):
    scheduled_posts_factory(alice, 4)
    out = StringIO()
    call_command("dispatcher_drain", "n1", stdout=out)
    assert ScheduledPost.objects.filter(dispatcher=node).count() == 4
    assert "4 pending posts stay with n1: no other node is active" in out.getvalue()
