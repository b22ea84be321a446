from dispatchers.api import NodeOverviewSerializer, node_overview_serialize
from dispatchers.selectors import node_overview


def test_it_gives_the_declared_fields_of_a_node(alice, published):
    published(alice)
    (row,) = node_overview()
    assert node_overview_serialize(row) == NodeOverviewSerializer(row).data
    assert node_overview_serialize(row)["published_last_hour"] == 1
