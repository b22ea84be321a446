from io import StringIO

from django.core.management import call_command

from dispatchers.models import DispatcherNode
from dispatchers.services import node_set_state


def test_it_makes_a_draining_node_active(node):
    node_set_state(node=node, state=DispatcherNode.State.DRAINING)
    out = StringIO()
    call_command("dispatcher_activate", "n1", stdout=out)
    node.refresh_from_db()
    assert node.state == DispatcherNode.State.ACTIVE
    assert "n1 is active" in out.getvalue()
