import threading

import pytest

from destinations.api import DestinationOutputSerializer, destination_serialize
from destinations.models import Delivery, Destination
from feed.models import Post
from scheduling.models import ScheduledPost
from stack.receiver import Receiver
from stack.waiting import free_port


def test_it_creates_a_webhook_and_shows_its_secret_once(alice, api, allow_private):
    client = api(alice)
    response = client.post("/api/destinations/", {"name": "mine", "kind": "webhook", "url": "http://127.0.0.1:9/x"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert {"id", "name", "kind", "url", "state"} <= set(body)
    assert (body["kind"], body["url"], body["state"]) == ("webhook", "http://127.0.0.1:9/x", "active")
    listed = client.get("/api/destinations/").json()
    assert [item["id"] for item in listed] == [body["id"]]
    assert body["secret"] not in str(listed) and "secret" not in listed[0]
    assert body["secret"] not in client.get(f"/api/destinations/{body['id']}/").content.decode()


def test_it_validates_the_input(alice, api, settings):
    settings.PSCHED_WEBHOOK_ALLOW_PRIVATE = False
    client = api(alice)
    assert "url" in client.post("/api/destinations/", {"name": "x", "kind": "webhook", "url": "http://example.com/"}, format="json").json()
    assert "kind" in client.post("/api/destinations/", {"name": "x", "kind": "fax", "url": "https://example.com/"}, format="json").json()
    assert client.post("/api/destinations/", [1], format="json").status_code == 400


def test_it_keeps_destinations_to_their_owner(alice, bob, api, webhook):
    hook, _ = webhook(alice)
    client = api(bob)
    assert client.get("/api/destinations/").json() == []
    assert client.delete(f"/api/destinations/{hook.pk}/").status_code == 404
    assert client.post(f"/api/destinations/{hook.pk}/test/").status_code == 404
    assert client.post(f"/api/destinations/{hook.pk}/rotate-secret/").status_code == 404
    assert api().get("/api/destinations/").status_code == 401


def test_it_deletes_pauses_and_rotates(alice, api, webhook):
    hook, secret = webhook(alice)
    client = api(alice)
    assert client.patch(f"/api/destinations/{hook.pk}/", {"state": "paused"}, format="json").json()["state"] == "paused"
    rotated = client.post(f"/api/destinations/{hook.pk}/rotate-secret/").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    assert client.delete(f"/api/destinations/{hook.pk}/").status_code == 204
    assert not Destination.objects.exists()


def test_it_sends_a_test_event(alice, api, webhook, tmp_path):
    server = Receiver(free_port(), str(tmp_path / "record"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook, server.secret = webhook(alice, url=f"http://127.0.0.1:{server.server_address[1]}/")
        answer = api(alice).post(f"/api/destinations/{hook.pk}/test/").json()
        assert answer == {"state": "delivered", "status": 204, "error": ""}
        assert (tmp_path / "record").read_text().endswith(" applied\n")
    finally:
        server.shutdown()
        server.server_close()


def test_it_retries_a_failed_delivery(alice, bob, api, webhook):
    hook, _ = webhook(alice)
    scheduled = ScheduledPost.objects.create(author=alice, text="x", status="published")
    post = Post.objects.create(author=alice, text="x", scheduled_post=scheduled)
    delivery = Delivery.objects.create(post=post, scheduled_post=scheduled, destination=hook, key="msg_r", state="failed", attempts=8)
    assert api(bob).post(f"/api/deliveries/{delivery.pk}/retry/").status_code == 404
    answer = api(alice).post(f"/api/deliveries/{delivery.pk}/retry/")
    assert answer.status_code == 200 and answer.json()["state"] == "pending" and answer.json()["attempts"] == 0
    assert api(alice).post(f"/api/deliveries/{delivery.pk}/retry/").status_code == 409
    delivery.refresh_from_db()
    assert delivery.key == "msg_r"


@pytest.mark.parametrize("state", ["active", "disabled"])
def test_the_output_matches_its_schema(alice, webhook, state):
    hook, _ = webhook(alice)
    hook.state = state
    assert destination_serialize(hook).keys() == DestinationOutputSerializer(hook).data.keys()
