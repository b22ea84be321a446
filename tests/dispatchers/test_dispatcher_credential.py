from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dispatchers.models import DispatcherNode


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
    assert DispatcherNode.objects.get(name="n1").credential_hash == ""


def test_it_wants_rotate_or_revoke(node):
    with pytest.raises(CommandError):
        call_command("dispatcher_credential", "n1", stdout=StringIO())
