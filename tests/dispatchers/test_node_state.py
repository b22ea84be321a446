from django.test import Client

from dispatchers.models import DispatcherNode


def test_it_drains_and_activates_a_node(client, staff, node):
    client.force_login(staff)
    response = client.post("/dispatchers/n1/state/", {"state": "draining"})
    assert response.status_code == 302 and response["Location"] == "/dispatchers/"
    assert DispatcherNode.objects.get(name="n1").state == "draining"
    page = client.post("/dispatchers/n1/state/", {"state": "active"}, follow=True).content.decode()
    assert "Node n1 is now active." in page
    assert DispatcherNode.objects.get(name="n1").state == "active"


def test_it_does_not_mark_a_node_down_by_hand(client, staff, node):
    client.force_login(staff)
    page = client.post("/dispatchers/n1/state/", {"state": "down"}, follow=True).content.decode()
    assert "Choose one of: draining, active." in page
    assert DispatcherNode.objects.get(name="n1").state == "active"


def test_it_is_for_staff_only(client, alice, node):
    client.force_login(alice)
    client.post("/dispatchers/n1/state/", {"state": "draining"})
    assert DispatcherNode.objects.get(name="n1").state == "active"


def test_it_requires_the_csrf_token(staff, node):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post("/dispatchers/n1/state/", {"state": "draining"}).status_code == 403


def test_it_asks_before_draining(client, staff, node, alice, scheduled_post_factory):
    scheduled_post_factory(alice, "routed")
    client.force_login(staff)
    response = client.get("/dispatchers/n1/state/?state=draining")
    page = response.content.decode()
    assert response.status_code == 200 and "Drain node n1?" in page
    assert "its 1 pending post moves to the active nodes" in page
    assert 'name="state" value="draining"' in page and 'method="post"' in page
    assert DispatcherNode.objects.get(name="n1").state == "active"
