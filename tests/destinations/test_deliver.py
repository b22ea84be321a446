"""One delivery's cycle against a real receiver (stack/receiver.py, in a thread): claim, send
with the same webhook-id on every try, record."""
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from destinations.models import Delivery, Destination
from destinations.services import (
    deliveries_claim,
    deliveries_read,
    deliveries_release_expired,
    delivery_attempt,
    destination_rotate_secret,
)
from feed.models import Post
from psched.lib.db import DatabaseClock
from scheduling.models import ScheduledPost
from stack.receiver import Receiver
from stack.waiting import free_port

State = Delivery.State


@pytest.fixture
def receiver(tmp_path):
    server = Receiver(free_port(), str(tmp_path / "record"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    # "<webhook-id> <what>" for each request
    server.lines = lambda: [f"{line.split()[0]} {line.split()[2]}" for line in (tmp_path / "record").read_text().splitlines()]
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def delivery(alice, webhook, receiver, node, settings):
    """A pending delivery of a published post to a webhook at the receiver."""
    settings.PSCHED_WEBHOOK_RETRY_JITTER = 0
    destination, secret = webhook(alice, url=receiver.url)
    receiver.secret = secret
    now = timezone.now()
    scheduled = ScheduledPost.objects.create(author=alice, text="hello", publish_at=now, due_at=now, status="published", published_at=now)
    post = Post.objects.create(author=alice, text="hello", published_at=now, scheduled_post=scheduled)
    return Delivery.objects.create(post=post, scheduled_post=scheduled, destination=destination, key="msg_test1", next_try_at=now)


def send_due():
    clock = DatabaseClock()
    claims = deliveries_claim(node_name="n1", now=clock.now() + timedelta(days=1), limit=10)
    return [delivery_attempt(claim=claim, delivery=row, clock=clock) for claim, row in deliveries_read(claims=claims)]


def test_it_delivers_a_signed_webhook(delivery, receiver):
    [outcome] = send_due()
    assert outcome.state == "delivered"
    assert receiver.lines() == ["msg_test1 applied"]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (State.DELIVERED, 1, 204)
    assert delivery.delivered_at and delivery.lateness_ms >= 0 and delivery.first_try_at


def test_it_resends_the_same_id_after_a_500(delivery, receiver):
    receiver.mode = {"mode": "500"}
    send_due()
    delivery.refresh_from_db()
    assert delivery.state == State.UNCONFIRMED and delivery.last_status == 500
    receiver.mode = {"mode": "ok"}
    send_due()
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.attempts == 2
    assert receiver.lines() == ["msg_test1 refused", "msg_test1 applied"]


def test_an_answer_lost_after_processing_is_applied_once(delivery, receiver):
    receiver.mode = {"mode": "drop"}
    [outcome] = send_due()
    assert outcome.state == "unconfirmed"
    receiver.mode = {"mode": "ok"}
    send_due()
    assert receiver.lines() == ["msg_test1 applied", "msg_test1 repeat"]
    assert len(receiver.applied) == 1


def test_it_honours_retry_after(delivery, receiver):
    receiver.mode = {"mode": "429", "retry_after": 3600}
    send_due()
    delivery.refresh_from_db()
    assert delivery.state == State.PENDING and delivery.last_status == 429
    assert delivery.next_try_at > timezone.now() + timedelta(minutes=59)


def test_a_410_disables_the_destination(delivery, receiver):
    receiver.mode = {"mode": "410"}
    send_due()
    delivery.refresh_from_db()
    assert delivery.state == State.FAILED
    assert Destination.objects.get().state == Destination.State.DISABLED


def test_it_fails_after_the_schedule(delivery, receiver, settings, mailoutbox, alice, django_capture_on_commit_callbacks):
    alice.email = "alice@example.com"
    alice.save()
    settings.PSCHED_WEBHOOK_RETRY_SCHEDULE = [0, 0]
    receiver.mode = {"mode": "500"}
    with django_capture_on_commit_callbacks(execute=True):
        send_due()
        send_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (State.FAILED, 2)
    assert len(mailoutbox) == 1 and "did not reach" in mailoutbox[0].subject


def test_a_sender_that_died_mid_send_is_reconciled_and_resent(delivery, receiver):
    clock = DatabaseClock()
    [claim] = deliveries_claim(node_name="n1", now=clock.now(), limit=10)  # then the node dies
    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert deliveries_release_expired(now=timezone.now()) == 1
    delivery.refresh_from_db()
    assert delivery.state == State.UNCONFIRMED
    send_due()
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.attempts == 2
    assert receiver.lines() == ["msg_test1 applied"]


def test_a_late_record_of_a_taken_over_claim_is_refused(delivery, receiver):
    clock = DatabaseClock()
    [claim] = deliveries_claim(node_name="n1", now=clock.now(), limit=10)
    [(_, row)] = deliveries_read(claims=[claim])
    Delivery.objects.filter(pk=delivery.pk).update(claim_token="other")
    delivery_attempt(claim=claim, delivery=row, clock=clock)
    delivery.refresh_from_db()
    assert delivery.state == State.SENDING and delivery.claim_token == "other"


def test_it_signs_with_both_secrets_while_rotating(delivery, receiver, alice):
    old = receiver.secret
    destination, new = destination_rotate_secret(destination_id=delivery.destination_id, owner=alice)
    assert new != old and new.startswith("whsec_")
    send_due()  # the receiver still knows only the old secret
    assert receiver.lines() == ["msg_test1 applied"]


def test_it_refuses_a_private_address_at_send_time(delivery, receiver, settings):
    settings.PSCHED_WEBHOOK_ALLOW_PRIVATE = False
    [outcome] = send_due()
    assert outcome.state == "retry"
    assert "public" in outcome.error or "https" in outcome.error
    assert receiver.lines() == []


def test_fresh_deliveries_are_claimed_by_their_ids_once(delivery, receiver):
    # What the publishing answer named: one conditional UPDATE claims the untouched ones, and
    # a delivery another node claimed first, one tried already or one not due is not taken.
    from destinations.services import deliveries_claim_ids

    now = timezone.now()
    second = Delivery.objects.create(post=delivery.post, scheduled_post=delivery.scheduled_post, destination=delivery.destination,
                                     key="msg_test2", next_try_at=now)
    later = Delivery.objects.create(post=delivery.post, scheduled_post=delivery.scheduled_post, destination=delivery.destination,
                                    key="msg_test3", next_try_at=now + timedelta(minutes=5))
    tried = Delivery.objects.create(post=delivery.post, scheduled_post=delivery.scheduled_post, destination=delivery.destination,
                                    key="msg_test4", next_try_at=now, attempts=1)
    taken = deliveries_claim_ids(node_name="n2", ids=[second.pk], now=now)
    assert [claim.delivery for claim in taken] == [second.pk]
    claims = deliveries_claim_ids(node_name="n1", ids=[delivery.pk, second.pk, later.pk, tried.pk], now=now)
    assert [(claim.delivery, claim.version, claim.was) for claim in claims] == [(delivery.pk, 1, State.PENDING)]
    row = Delivery.objects.get(pk=delivery.pk)
    assert (row.state, row.attempts, row.claimed_by, row.claim_token) == (State.SENDING, 1, "n1", claims[0].claim_token)
    assert row.lease_until is not None and row.first_try_at is not None
    assert Delivery.objects.get(pk=second.pk).claimed_by == "n2"
    assert deliveries_claim_ids(node_name="n1", ids=[delivery.pk], now=now) == []  # once
    # A search finds only what no one holds (the delivery tried already, which waits for it).
    assert [claim.delivery for claim in deliveries_claim(node_name="n3", now=now, limit=10)] == [tried.pk]
    clock = DatabaseClock()
    (outcome,) = [delivery_attempt(claim=claim, delivery=row, clock=clock) for claim, row in deliveries_read(claims=claims)]
    assert outcome.state == "delivered"
    assert receiver.lines() == ["msg_test1 applied"]


def test_a_paused_destinations_fresh_delivery_is_not_claimed_by_its_id(delivery):
    from destinations.services import deliveries_claim_ids

    Destination.objects.filter(pk=delivery.destination_id).update(state=Destination.State.PAUSED)
    assert deliveries_claim_ids(node_name="n1", ids=[delivery.pk], now=timezone.now()) == []
    assert Delivery.objects.get(pk=delivery.pk).state == State.PENDING
