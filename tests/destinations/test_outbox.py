"""The outbox: the callback that publishes a post writes its deliveries in its transaction."""
from destinations.models import Delivery
from destinations.services import destination_delete
from scheduling.models import ScheduledPost
from scheduling.services import scheduled_post_cancel

Status = ScheduledPost.Status


def test_it_writes_one_delivery_per_chosen_destination(alice, api, node, node_client, webhook, in_seconds, publish_due):
    hook, _ = webhook(alice)
    created = api(alice).post("/api/scheduled-posts/", {"text": "hi", "publish_at": in_seconds(60), "destinations": [hook.pk]}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["destinations"] == [hook.pk]
    assert created.json()["deliveries"] == []
    assert publish_due(node, node_client).status_code == 201
    delivery = Delivery.objects.get()
    assert delivery.destination == hook and delivery.state == Delivery.State.PENDING
    assert delivery.key.startswith("msg_") and delivery.next_try_at is not None
    answer = api(alice).get(f"/api/scheduled-posts/{created.json()['id']}/").json()
    assert answer["deliveries"] == [{
        "id": delivery.pk, "destination": hook.pk, "state": "pending", "attempts": 0, "remote_id": "",
        "delivered_at": None, "error": "",
    }]


def test_it_writes_none_without_destinations(alice, api, node, node_client, in_seconds, publish_due):
    api(alice).post("/api/scheduled-posts/", {"text": "hi", "publish_at": in_seconds(60)}, format="json")
    assert publish_due(node, node_client).status_code == 201
    assert not Delivery.objects.exists()


def test_it_uses_the_default_set(alice, node, node_client, webhook, scheduled_posts_factory, publish_due):
    hook, _ = webhook(alice, is_default=True)
    webhook(alice, name="other")
    scheduled_posts_factory(alice, 3)
    publish_due(node, node_client)
    assert list(Delivery.objects.values_list("destination_id", flat=True)) == [hook.pk] * 3


def test_it_refuses_someone_elses_destination(alice, bob, api, webhook, in_seconds):
    hook, _ = webhook(bob)
    response = api(alice).post("/api/scheduled-posts/", {"text": "hi", "publish_at": in_seconds(60), "destinations": [hook.pk]}, format="json")
    assert response.status_code == 400
    assert "destinations" in response.json()
    assert not ScheduledPost.objects.exists()


def test_a_cancelled_post_sends_nothing(alice, api, node, node_client, webhook, in_seconds, publish_due):
    hook, _ = webhook(alice)
    created = api(alice).post("/api/scheduled-posts/", {"text": "hi", "publish_at": in_seconds(60), "destinations": [hook.pk]}, format="json")
    scheduled_post_cancel(scheduled_post_id=created.json()["id"], author=alice)
    publish_due(node, node_client)
    assert not Delivery.objects.exists()


def test_a_removed_destination_gets_nothing_and_the_post_publishes(alice, api, node, node_client, webhook, in_seconds, publish_due):
    hook, _ = webhook(alice)
    api(alice).post("/api/scheduled-posts/", {"text": "hi", "publish_at": in_seconds(60), "destinations": [hook.pk]}, format="json")
    destination_delete(destination_id=hook.pk, owner=alice)
    assert publish_due(node, node_client).status_code == 201
    assert ScheduledPost.objects.get().status == Status.PUBLISHED
    assert not Delivery.objects.exists()


def test_a_bulk_request_chooses_per_post(alice, api, node, node_client, webhook, in_seconds, publish_due):
    hook, _ = webhook(alice)
    body = [{"text": "a", "publish_at": in_seconds(60), "destinations": [hook.pk]}, {"text": "b", "publish_at": in_seconds(60)}]
    created = api(alice).post("/api/scheduled-posts/", body, format="json")
    assert [post["destinations"] for post in created.json()] == [[hook.pk], []]
    publish_due(node, node_client)
    assert Delivery.objects.count() == 1


def test_a_draft_scheduled_later_gets_the_default_set(alice, api, node, node_client, webhook, in_seconds, publish_due):
    hook, _ = webhook(alice, is_default=True)
    draft = api(alice).post("/api/scheduled-posts/", {"text": "later", "draft": True}, format="json").json()
    scheduled = api(alice).patch(f"/api/scheduled-posts/{draft['id']}/", {"publish_at": in_seconds(60)}, format="json")
    assert scheduled.json()["destinations"] == [hook.pk]
    publish_due(node, node_client)
    assert Delivery.objects.get().destination == hook


def test_an_edit_changes_the_destinations(alice, bob, api, node, node_client, webhook, in_seconds, publish_due):
    first, _ = webhook(alice)
    second, _ = webhook(alice, name="second")
    theirs, _ = webhook(bob, name="theirs")
    created = api(alice).post("/api/scheduled-posts/", {"text": "hi", "publish_at": in_seconds(60), "destinations": [first.pk]}, format="json").json()
    refused = api(alice).patch(f"/api/scheduled-posts/{created['id']}/", {"destinations": [theirs.pk]}, format="json")
    assert refused.status_code == 400 and "destinations" in refused.json()
    changed = api(alice).patch(f"/api/scheduled-posts/{created['id']}/", {"destinations": [second.pk]}, format="json")
    assert changed.status_code == 200 and changed.json()["destinations"] == [second.pk]
    publish_due(node, node_client)
    assert Delivery.objects.get().destination == second
