from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone

from dispatchers.models import DispatcherNode


@pytest.fixture
def ticking(node):
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now(), beat_seen=timezone.now())
    return node


def test_it_is_200_with_a_ticking_node(client, ticking):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["database"], body["broker"], body["ticking"]) == ("ok", "ok", True)
    assert body["nodes"]["n1"]["state"] == "active"
    assert body["nodes"]["n1"]["ok"] is True
    assert body["nodes"]["n1"]["last_tick"].startswith(str(timezone.now().year))


def test_it_is_503_when_no_node_ticked_recently(client, node):
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now() - timedelta(minutes=2))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["ticking"] is False
    assert response.json()["nodes"]["n1"]["ok"] is False


def test_it_is_503_when_no_node_exists(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "ok", "nodes": {}, "ticking": False}


def test_it_warns_that_beat_is_gone_while_the_nodes_tick_by_themselves(client, ticking):
    # The nodes' own ticks keep last_seen fresh; beat's last tick is old.
    DispatcherNode.objects.filter(pk=ticking.pk).update(beat_seen=timezone.now() - timedelta(minutes=2))
    response = client.get("/healthz")
    assert response.status_code == 200  # posts still go out
    assert response.json()["warnings"] == [
        "beat: no tick from beat recently; the nodes are ticking by themselves: start beat"]


def test_it_is_503_when_the_broker_is_unreachable(client, ticking, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")
    assert response.json()["database"] == "ok"


def test_a_down_node_is_shown_but_others_keep_it_healthy(client, ticking):
    DispatcherNode.objects.create(name="n2", state=DispatcherNode.State.DOWN, last_seen=timezone.now() - timedelta(hours=1))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["nodes"]["n2"] == {
        "state": "down", "last_tick": response.json()["nodes"]["n2"]["last_tick"], "ok": False,
        "clock_offset_ms": None,
    }


def test_it_is_503_not_500_when_the_database_fails(client, ticking, monkeypatch):
    def broken(**kwargs):
        raise DatabaseError("gone")

    monkeypatch.setattr("psched.health.nodes_health", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("error")


def test_a_node_whose_clock_is_off_is_a_warning_not_a_failure(client, ticking, settings):
    settings.PSCHED_CLOCK_WARN_SECONDS = 2
    DispatcherNode.objects.filter(pk=ticking.pk).update(clock_offset_ms=60_400)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["nodes"]["n1"]["clock_offset_ms"] == 60_400 and body["nodes"]["n1"]["ok"]
    assert body["warnings"] == ["node n1: clock 60.4 s ahead of the database's: check NTP on this host"]
    DispatcherNode.objects.filter(pk=ticking.pk).update(clock_offset_ms=-1500)
    assert "warnings" not in client.get("/healthz").json()
