"""The outbox: the callback that publishes a post writes its deliveries in its transaction."""
from destinations.models import Delivery, Destination
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


def _publishing_statements(node, node_client):
    """The callback's statements for the node's due posts (claimed first, as a tick does), and its answer."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from dispatchers.services import claim_due_posts
    from dispatchers.tick import claim_serialize

    ScheduledPost.objects.filter(dispatcher=node, status=Status.PENDING).update(
        publish_at=timezone.now() - timedelta(seconds=1), due_at=timezone.now() - timedelta(seconds=1)
    )
    claims = claim_due_posts(node=node, now=timezone.now(), horizon=timezone.now() + timedelta(days=1), limit=1000)
    body = [claim_serialize(claim) for claim in claims]
    with CaptureQueriesContext(connection) as statements:
        response = node_client.post("/api/posts/?answer=ids", body, format="json")
    return [statement["sql"] for statement in statements], response, body


def test_a_one_post_batch_reads_the_outbox_once_and_takes_no_savepoint(transactional_db, alice, node, node_client, webhook, scheduled_posts_factory):
    # Each round trip of the publishing transaction is time its deliveries wait for: the
    # chosen destinations are read in one statement, and a batch of one post needs no savepoint
    # (it has no other row to save from a refusal).
    hook, _ = webhook(alice, is_default=True)
    paused, _ = webhook(alice, name="paused", is_default=True)
    gone, _ = webhook(alice, name="gone", is_default=True)
    scheduled_posts_factory(alice, 1)
    Destination.objects.filter(pk=paused.pk).update(state=Destination.State.PAUSED)
    Destination.objects.filter(pk=gone.pk).update(state=Destination.State.DISABLED)
    statements, response, _ = _publishing_statements(node, node_client)
    assert response.status_code == 201
    assert not [sql for sql in statements if "SAVEPOINT" in sql.upper()], statements
    assert len([sql for sql in statements if "destinations_selection" in sql]) == 1, statements
    assert not [sql for sql in statements if sql.lstrip().upper().startswith("SELECT") and "destinations_selection" not in sql
                and "destinations_destination" in sql], statements
    # A paused destination's delivery waits; a disabled one gets none.
    assert sorted(Delivery.objects.values_list("destination_id", flat=True)) == sorted([hook.pk, paused.pk])


def test_the_answer_names_the_deliveries_it_wrote(transactional_db, alice, bob, node, node_client, webhook, scheduled_posts_factory):
    hook, _ = webhook(alice, is_default=True)
    scheduled_posts_factory(alice, 2)
    scheduled_posts_factory(bob, 1)  # no destinations
    _, response, body = _publishing_statements(node, node_client)
    assert response.status_code == 201
    answers = {answer["scheduled_post"]: answer for answer in response.json()}
    deliveries = dict(Delivery.objects.values_list("scheduled_post_id", "pk"))
    assert len(deliveries) == 2
    for scheduled_post_id, answer in answers.items():
        if scheduled_post_id in deliveries:
            assert answer["deliveries"] == [deliveries[scheduled_post_id]]
        else:
            assert "deliveries" not in answer
    again = node_client.post("/api/posts/?answer=ids", body, format="json")
    assert again.status_code == 200
    assert not any("deliveries" in answer for answer in again.json())  # a repeat writes none
