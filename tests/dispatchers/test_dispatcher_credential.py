from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dispatchers.models import DispatcherNode
from dispatchers.services import node_credential_add


def test_it_rotates_the_credential_and_prints_it_once(node):
    out = StringIO()
    call_command("dispatcher_credential", "n1", "--rotate", stdout=out)
    secret = out.getvalue().split("PSCHED_NODE_CREDENTIAL=")[1].split()[0]
    node = DispatcherNode.objects.get(name="n1")
    assert node.credential_matches(secret)
    assert not node.credential_matches("the-old-one")
    assert "restart" in out.getvalue().lower()


def test_the_old_credential_is_refused_after_rotation(node, node_client):
    call_command("dispatcher_credential", "n1", "--rotate", stdout=StringIO())
    response = node_client.post("/api/posts/", [], format="json")
    assert response.status_code in (401, 403)


def test_it_revokes(node):
    call_command("dispatcher_credential", "n1", "--revoke", stdout=StringIO())
    assert not DispatcherNode.objects.get(name="n1").credentials.exists()


def test_it_wants_rotate_or_revoke(node):
    with pytest.raises(CommandError):
        call_command("dispatcher_credential", "n1", stdout=StringIO())


def test_a_second_worker_of_a_node_keeps_the_first_ones_credential_working(node):
    # Each run_dispatcher started without PSCHED_NODE_CREDENTIAL adds one: nobody is revoked.
    first = node_credential_add(node=node)
    second = node_credential_add(node=node)
    assert node.credential_matches(first) and node.credential_matches(second)
    assert node.credential_matches(node.secret)


def test_rotation_replaces_every_credential_of_the_node(node):
    worker = node_credential_add(node=node)
    call_command("dispatcher_credential", "n1", "--rotate", stdout=StringIO())
    assert not node.credential_matches(worker) and not node.credential_matches(node.secret)
