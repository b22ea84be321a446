from dispatchers.models import DispatcherNode


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
