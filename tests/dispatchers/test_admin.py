from django_celery_beat.models import PeriodicTask

from dispatchers.models import DispatcherNode
from dispatchers.services import node_register
from scheduling.models import ScheduledPost


def test_it_drains_and_activates_nodes(client, admin_user, node):
    client.force_login(admin_user)
    page = client.post("/admin/dispatchers/dispatchernode/", {"action": "drain", "_selected_action": [node.pk]}, follow=True)
    assert "Now draining: n1." in page.content.decode()
    assert DispatcherNode.objects.get(pk=node.pk).state == "draining"
    client.post("/admin/dispatchers/dispatchernode/", {"action": "activate", "_selected_action": [node.pk]})
    assert DispatcherNode.objects.get(pk=node.pk).state == "active"


def test_it_never_shows_the_credential_hash(client, admin_user, node):
    client.force_login(admin_user)
    assert "credential_hash" not in client.get(f"/admin/dispatchers/dispatchernode/{node.pk}/change/").content.decode()


def test_it_does_not_rename_a_node(client, admin_user, node):
    client.force_login(admin_user)
    client.post(f"/admin/dispatchers/dispatchernode/{node.pk}/change/", {"name": "renamed", "weight": 50, "state": "down"})
    node.refresh_from_db()
    assert (node.name, node.weight, node.state) == ("n1", 50, "active")
    assert PeriodicTask.objects.filter(name=node.tick_task_name).exists()


def test_it_adds_a_node_with_its_tick(client, admin_user, db):
    client.force_login(admin_user)
    response = client.post("/admin/dispatchers/dispatchernode/add/", {"name": "n9", "weight": 100})
    assert response.status_code == 302
    assert PeriodicTask.objects.get(name="tick dispatch.n9").queue == "dispatch.n9"


def test_deleting_a_node_removes_its_tick_and_hands_its_posts_over(client, admin_user, alice, node, scheduled_posts_factory):
    other, _ = node_register(name="n2")
    posts = scheduled_posts_factory(alice, 20)
    client.force_login(admin_user)
    response = client.post(f"/admin/dispatchers/dispatchernode/{node.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not DispatcherNode.objects.filter(name="n1").exists()
    assert not PeriodicTask.objects.filter(name=node.tick_task_name).exists()
    assert set(ScheduledPost.objects.filter(pk__in=[post.pk for post in posts]).values_list("dispatcher", flat=True)) == {other.pk}
