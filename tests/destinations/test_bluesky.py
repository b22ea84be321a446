"""The bluesky destination kind, its API and its deliveries, against a real PDS (stack.pds)."""
import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import user_set_language
from destinations.kinds import bluesky as bluesky_kind
from destinations.models import Delivery, Destination, Selection
from destinations.services import (
    deliveries_claim,
    deliveries_create,
    deliveries_due,
    deliveries_read,
    delivery_attempt,
    destination_secret_replace,
)
from feed.models import Post
from psched.lib.bluesky import record_key_instant
from psched.lib.db import DatabaseClock
from psched.lib.encryption import secret_decrypt
from scheduling.models import ScheduledPost
from stack import FaultProxy, free_port
from stack.pds import LocalPds

pytestmark = pytest.mark.integration
State = Delivery.State
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_clients():
    yield
    bluesky_kind.clients_forget()


@pytest.fixture
def account(pds):
    handle = f"dest{next(_numbers)}-{free_port()}.test"
    did = pds.create_account(handle, "account-password-1")
    app_password = pds.create_app_password(handle, "account-password-1", "psched")
    return {"handle": handle, "did": did, "app_password": app_password, "password": "account-password-1"}


@pytest.fixture
def destination(alice, api, account, pds, allow_private, settings):
    settings.PSCHED_WEBHOOK_RETRY_JITTER = 0
    status, body = _create(api(alice), pds.url, account)
    assert status == 201, body
    return Destination.objects.get(pk=body["id"])


def _create(client, pds_url, account, **changes):
    payload = {"name": "sky", "kind": "bluesky", "pds_url": pds_url, "handle": account["handle"],
               "app_password": account["app_password"], **changes}
    response = client.post("/api/destinations/", payload, format="json")
    return response.status_code, response.json()


def published(author, destination, text="hello bluesky"):
    """A post published now with its delivery to the destination, as the publishing callback makes it."""
    now = timezone.now()
    scheduled = ScheduledPost.objects.create(author=author, text=text, publish_at=now, due_at=now, status="published", published_at=now)
    Selection.objects.create(scheduled_post=scheduled, destination=destination)
    post = Post.objects.create(author=author, text=text, published_at=now, scheduled_post=scheduled)
    deliveries_create(published={scheduled.pk: post.pk}, now=now)
    return Delivery.objects.get(post=post)


def send_due():
    clock = DatabaseClock()
    claims = deliveries_claim(node_name="n1", now=clock.now() + timedelta(days=1), limit=10)
    return [delivery_attempt(claim=claim, delivery=row, clock=clock) for claim, row in deliveries_read(claims=claims)]


def test_it_creates_a_destination_after_trying_the_password(destination, account):
    assert destination.config == {"pds_url": destination.config["pds_url"], "handle": account["handle"], "did": account["did"]}
    assert destination.secret_encrypted and account["app_password"] not in destination.secret_encrypted


def test_it_does_not_show_the_app_password_back(alice, api, account, pds, allow_private):
    status, body = _create(api(alice), pds.url, account)
    assert status == 201 and "secret" not in body and account["app_password"] not in str(body)


def test_a_wrong_app_password_is_a_400_naming_it(alice, api, account, pds, allow_private):
    status, body = _create(api(alice), pds.url, account, app_password="aaaa-bbbb-cccc-dddd")
    assert status == 400 and "app_password" in body
    assert not Destination.objects.exists()


def test_a_private_pds_is_refused_unless_allowed(alice, api, account, pds):
    status, body = _create(api(alice), pds.url, account)
    assert status == 400 and "pds_url" in body


def test_the_record_key_is_fixed_when_the_delivery_is_made(alice, destination, account):
    delivery = published(alice, destination)
    assert delivery.remote_id.startswith(f"at://{account['did']}/app.bsky.feed.post/")
    rkey = delivery.remote_id.rpartition("/")[2]
    assert abs((record_key_instant(rkey) - delivery.created_at).total_seconds()) < 5
    assert delivery.attempts == 0


def test_it_delivers_the_post_under_that_key_with_the_author_language(alice, destination, account, pds):
    user_set_language(user=alice, language="fr")
    delivery = published(alice, destination, text="bonjour https://example.com")
    uri = delivery.remote_id
    [outcome] = send_due()
    assert outcome.state == "delivered", outcome
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.remote_id == uri
    assert delivery.remote_url == f"https://bsky.app/profile/{account['did']}/post/{uri.rpartition('/')[2]}"
    (record,) = pds.list_records(account["did"])
    assert record["uri"] == uri
    assert record["value"]["text"] == "bonjour https://example.com" and record["value"]["langs"] == ["fr"]
    assert record["value"]["createdAt"].startswith(delivery.post.published_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_lost_answer_is_reconciled_without_a_second_post(alice, destination, account, pds):
    proxy = FaultProxy(pds.port)
    try:
        Destination.objects.filter(pk=destination.pk).update(config={**destination.config, "pds_url": f"http://127.0.0.1:{proxy.port}"})
        published(alice, destination, text="first, to log in")
        assert [outcome.state for outcome in send_due()] == ["delivered"]
        delivery = published(alice, destination, text="its answer is lost")
        proxy.mode = "drop"
        [outcome] = send_due()
        assert outcome.state == "unconfirmed"
        delivery.refresh_from_db()
        assert delivery.state == State.UNCONFIRMED
        proxy.mode = "forward"
        proxy.drop_methods = set()
        [outcome] = send_due()
        assert outcome.state == "delivered"
        assert proxy.dropped == 1 and proxy.seen["drop"] == 1  # the read back settled it: no second write
        assert sorted(record["value"]["text"] for record in pds.list_records(account["did"])) == [
            "first, to log in", "its answer is lost"]
    finally:
        proxy.close()


def test_a_revoked_password_makes_the_destination_need_attention_until_replaced(alice, api, destination, account, pds, settings):
    settings.PSCHED_BLUESKY_TOKEN_SECONDS = 0  # refresh before every call
    pds.revoke_app_password(account["handle"], account["password"], "psched")
    delivery = published(alice, destination)
    [outcome] = send_due()
    assert outcome.state == "attention"
    destination.refresh_from_db()
    delivery.refresh_from_db()
    assert destination.state == "needs_attention" and "app password" in destination.state_reason
    assert delivery.state == State.PENDING and delivery.attempts == 0
    assert send_due() == []  # nothing goes while it needs attention
    new_password = pds.create_app_password(account["handle"], account["password"], "psched-2")
    response = api(alice).patch(f"/api/destinations/{destination.pk}/", {"app_password": new_password}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "active"
    [outcome] = send_due()
    assert outcome.state == "delivered"
    assert len(pds.list_records(account["did"])) == 1


def test_a_wrong_replacement_password_is_a_400(alice, api, destination):
    response = api(alice).patch(f"/api/destinations/{destination.pk}/", {"app_password": "zzzz-zzzz-zzzz-zzzz"}, format="json")
    assert response.status_code == 400 and "app_password" in response.json()


def test_a_text_too_long_for_bluesky_is_refused_when_scheduled(alice, api, destination, in_seconds):
    response = api(alice).post("/api/scheduled-posts/", {
        "text": "a" * 301, "publish_at": in_seconds(3600), "destinations": [destination.pk],
    }, format="json")
    assert response.status_code == 400
    assert "at most 300 characters" in str(response.json()["text"])
    fits = api(alice).post("/api/scheduled-posts/", {
        "text": "a" * 300, "publish_at": in_seconds(3600), "destinations": [destination.pk],
    }, format="json")
    assert fits.status_code == 201, fits.json()


def test_a_used_up_rate_limit_holds_the_destination(alice, api, tmp_path, allow_private, settings):
    settings.PSCHED_WEBHOOK_RETRY_JITTER = 0
    limited = LocalPds(tmp_path / "data", rate_limit_writes="4/600").start()  # two putRecord calls
    try:
        limited.create_account("limited.test", "account-password-1")
        account = {"handle": "limited.test", "app_password": limited.create_app_password("limited.test", "account-password-1", "psched")}
        status, body = _create(api(alice), limited.url, account)
        assert status == 201, body
        destination = Destination.objects.get(pk=body["id"])
        first, second, third = (published(alice, destination, text=f"post {n}") for n in range(3))
        outcomes = send_due()
        # The second write leaves the budget at 0: the destination is held from then on, and
        # the third is not even sent (or, sent side by side, meets the 429).
        assert sorted(outcome.state for outcome in outcomes)[:2] == ["delivered", "delivered"]
        destination.refresh_from_db()
        assert destination.not_before > timezone.now() + timedelta(seconds=500)
        waiting = published(alice, destination, text="post 3")
        soon = timezone.now() + timedelta(seconds=60)
        assert not deliveries_due(now=soon).filter(pk=waiting.pk).exists()  # held until the PDS's window resets
    finally:
        limited.stop()


def test_the_session_is_kept_encrypted_and_serves_a_new_process_without_a_login(alice, destination, account):
    assert destination.session_encrypted and account["did"] in secret_decrypt(destination.session_encrypted)
    published(alice, destination, text="first")
    [outcome] = send_due()
    assert outcome.state == "delivered" and outcome.session == ""  # the stored session served: no login
    bluesky_kind.clients_forget()  # as a node started afresh
    Destination.objects.filter(pk=destination.pk).update(session_encrypted="")
    published(alice, destination, text="second")
    [outcome] = send_due()
    assert outcome.state == "delivered" and outcome.session  # logged in: the new session is kept
    destination.refresh_from_db()
    assert secret_decrypt(destination.session_encrypted) == outcome.session


def test_the_page_adds_a_bluesky_account_and_refuses_a_wrong_password(client, alice, account, pds, allow_private):
    client.force_login(alice)
    fields = {"bluesky-name": "sky", "bluesky-handle": account["handle"], "bluesky-pds_url": pds.url}
    refused = client.post("/destinations/new/bluesky/", {**fields, "bluesky-app_password": "aaaa-bbbb-cccc-dddd"})
    assert refused.status_code == 400 and "It is wrong or was revoked" in refused.content.decode()
    assert not Destination.objects.exists()
    added = client.post("/destinations/new/bluesky/", {**fields, "bluesky-app_password": account["app_password"]})
    assert added.status_code == 302
    page = client.get("/destinations/").content.decode()
    assert f"@{account['handle']}" in page and account["app_password"] not in page


def test_the_page_takes_a_new_app_password(client, alice, destination, account, pds):
    Destination.objects.filter(pk=destination.pk).update(state="needs_attention", state_reason="revoked")
    client.force_login(alice)
    new_password = pds.create_app_password(account["handle"], account["password"], "psched-page")
    response = client.post(f"/destinations/{destination.pk}/password/", {"app_password": new_password})
    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.state == "active" and destination.state_reason == ""
    assert "needs attention" not in client.get("/destinations/").content.decode()


def test_an_edit_too_long_for_bluesky_is_refused(alice, api, destination, in_seconds):
    created = api(alice).post("/api/scheduled-posts/", {
        "text": "short", "publish_at": in_seconds(3600), "destinations": [destination.pk],
    }, format="json").json()
    response = api(alice).patch(f"/api/scheduled-posts/{created['id']}/", {"text": "b" * 301}, format="json")
    assert response.status_code == 400 and "at most 300 characters" in str(response.json()["text"])
    assert ScheduledPost.objects.get(pk=created["id"]).text == "short"
    assert api(alice).patch(f"/api/scheduled-posts/{created['id']}/", {"text": "b" * 300}, format="json").status_code == 200


def test_a_destination_needing_attention_shows_in_the_navigation(client, alice, destination):
    Destination.objects.filter(pk=destination.pk).update(state="needs_attention", state_reason="revoked")
    client.force_login(alice)
    assert "1 failed</span>" in client.get("/destinations/").content.decode()


def test_a_refusal_of_the_old_password_after_the_owner_gave_a_new_one_changes_nothing(alice, destination, account, pds, settings):
    """A send in flight with the revoked password answers after the owner's fix: the fix stands."""
    settings.PSCHED_BLUESKY_TOKEN_SECONDS = 0
    published(alice, destination)
    clock = DatabaseClock()
    [(claim, row)] = deliveries_read(claims=deliveries_claim(node_name="n1", now=clock.now() + timedelta(days=1), limit=10))
    pds.revoke_app_password(account["handle"], account["password"], "psched")
    new_password = pds.create_app_password(account["handle"], account["password"], "psched-3")
    destination_secret_replace(destination_id=destination.pk, owner=alice, config={"app_password": new_password})
    outcome = delivery_attempt(claim=claim, delivery=row, clock=clock)  # read before the fix: the old password
    assert outcome.state == "attention"
    destination.refresh_from_db()
    assert destination.state == "active"
    [outcome] = send_due()
    assert outcome.state == "delivered"
