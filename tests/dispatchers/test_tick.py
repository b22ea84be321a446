from dispatchers.models import DispatcherNode
from dispatchers.services import node_set_state
from dispatchers.tick import run_tick


def test_it_records_the_tick_and_its_duration(node):
    # A draining node claims nothing, so the tick makes no callback.
    node_set_state(node=node, state=DispatcherNode.State.DRAINING)
    report = run_tick(node_name="n1", credential=node.secret)
    node.refresh_from_db()
    assert report.claimed == 0
    assert node.last_seen is not None
    assert node.last_tick_ms is not None and node.last_tick_ms >= 0
