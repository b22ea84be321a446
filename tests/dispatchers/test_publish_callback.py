from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dispatchers.services import claim_due_posts, node_credential_issue, node_credential_revoke, node_register
from dispatchers.tick import claim_serialize
from feed.models import Post
from scheduling.models import ScheduledPost
from scheduling.publishing import Claim
from scheduling.services import scheduled_post_cancel, scheduled_post_update

Status = ScheduledPost.Status


def claim_all(node):
    """The node's due posts claimed, as the callback's body carries them."""
    # The callback refuses a post that is not due yet: let the node's pending posts fall due.
    ScheduledPost.objects.filter(dispatcher=node, status=Status.PENDING).update(
        publish_at=timezone.now() - timedelta(seconds=1), due_at=timezone.now() - timedelta(seconds=1)
    )
    claims = claim_due_posts(node=node, now=timezone.now(), horizon=timezone.now() + timedelta(days=1), limit=1000)
    return [claim_serialize(claim) for claim in claims]


def test_it_publishes_claimed_posts_once(alice, node, node_client, scheduled_posts_factory):
    scheduled_posts_factory(alice, 3)
    claims = claim_all(node)
    response = node_client.post("/api/posts/", claims, format="json")
    assert response.status_code == 201
    assert [p["author"] for p in response.json()] == ["alice"] * 3
    assert all(p["dispatcher"] == "n1" and p["scheduled_for"] for p in response.json())
    again = node_client.post("/api/posts/", claims, format="json")
    assert again.status_code == 200
    assert [p["id"] for p in again.json()] == [p["id"] for p in response.json()]
    assert Post.objects.count() == 3
    assert ScheduledPost.objects.filter(status=Status.PUBLISHED, lateness_ms__isnull=False).count() == 3


def test_it_takes_the_author_from_the_scheduled_post(alice, node, node_client, scheduled_posts_factory):
    scheduled_posts_factory(alice, 1)
    claims = claim_all(node)
    claims[0].update(author="mallory", author_id=999, text="injected")
    node_client.post("/api/posts/", claims, format="json")
    post = Post.objects.get()
    assert post.author == alice
    assert post.text != "injected"


def test_an_edit_after_the_claim_wins(alice, node, node_client, scheduled_posts_factory):
    (post,) = scheduled_posts_factory(alice, 1)
    claims = claim_all(node)
    scheduled_post_update(scheduled_post_id=post.pk, author=alice, text="edited")
    response = node_client.post("/api/posts/", claims, format="json")
    assert response.status_code == 409
    assert "edited" in response.json()[0]["error"] or "Not claimed" in response.json()[0]["error"]
    assert not Post.objects.exists()
    claims = claim_all(node)
    assert node_client.post("/api/posts/", claims, format="json").json()[0]["text"] == "edited"


def test_a_cancel_after_the_claim_wins(alice, node, node_client, scheduled_posts_factory):
    (post,) = scheduled_posts_factory(alice, 1)
    claims = claim_all(node)
    scheduled_post_cancel(scheduled_post_id=post.pk, author=alice)
    assert node_client.post("/api/posts/", claims, format="json").status_code == 409
    assert not Post.objects.exists()


def test_another_node_cannot_publish_my_claims(alice, node, api, scheduled_posts_factory):
    scheduled_posts_factory(alice, 1)
    claims = claim_all(node)
    other, _ = node_register(name="n2")
    secret = node_credential_issue(node=other)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Node n2:{secret}")
    response = client.post("/api/posts/", claims, format="json")
    assert response.status_code == 403
    assert response.json()[0]["error"] == "Claimed by another node."
    assert not Post.objects.exists()


def test_a_revoked_or_wrong_credential_is_refused(alice, node, node_client, api, scheduled_posts_factory):
    scheduled_posts_factory(alice, 1)
    claims = claim_all(node)
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Node n1:not-the-secret")
    assert client.post("/api/posts/", claims, format="json").status_code == 403
    node_credential_revoke(node=node)
    assert node_client.post("/api/posts/", claims, format="json").status_code == 403
    assert not Post.objects.exists()


def test_a_new_credential_replaces_the_old_one(alice, node, node_client, scheduled_posts_factory):
    scheduled_posts_factory(alice, 1)
    claims = claim_all(node)
    fresh = node_credential_issue(node=node)
    assert node_client.post("/api/posts/", claims, format="json").status_code == 403  # the old secret
    node_client.credentials(HTTP_AUTHORIZATION=f"Node {node.name}:{fresh}")
    assert node_client.post("/api/posts/", claims, format="json").status_code == 201
    assert Post.objects.count() == 1


def test_a_node_cannot_publish_a_post_it_has_not_claimed(alice, node, node_client, scheduled_posts_factory):
    (pending,) = scheduled_posts_factory(alice, 1)
    response = node_client.post("/api/posts/", [
        {"scheduled_post": pending.pk, "claim_token": "0" * 32, "version": 1},
    ], format="json")
    assert response.status_code == 409
    assert "Not claimed" in response.json()[0]["error"]
    assert not Post.objects.exists()


def test_a_node_credential_gives_no_user_rights(alice, node, node_client, scheduled_posts_factory):
    (pending,) = scheduled_posts_factory(alice, 1)
    assert node_client.get("/api/scheduled-posts/").status_code in (401, 403)
    assert node_client.delete(f"/api/scheduled-posts/{pending.pk}/").status_code in (401, 403)
    assert node_client.get("/api/dispatchers/").status_code in (401, 403)
    assert ScheduledPost.objects.get().status == Status.PENDING


def test_a_user_cannot_publish_claims(alice, node, api, scheduled_posts_factory):
    scheduled_posts_factory(alice, 1)
    claims = claim_all(node)
    response = api(alice).post("/api/posts/", claims, format="json")
    assert response.status_code == 400
    assert not Post.objects.exists()


def test_a_late_callback_after_the_lease_expired_is_refused(alice, node, node_client, settings, scheduled_posts_factory):
    from dispatchers.services import leases_release_expired

    scheduled_posts_factory(alice, 1)
    stale = claim_all(node)
    leases_release_expired(now=timezone.now() + timedelta(days=1, seconds=settings.PSCHED_LEASE_SECONDS + 1))
    fresh = claim_all(node)
    assert node_client.post("/api/posts/", stale, format="json").status_code == 409
    assert node_client.post("/api/posts/", fresh, format="json").status_code == 201
    assert Post.objects.count() == 1


def test_a_post_that_failed_and_is_retried_is_published_once(alice, node, node_client, settings, scheduled_posts_factory):
    from dispatchers.services import claims_record_failure
    from scheduling.services import scheduled_post_retry

    settings.PSCHED_MAX_ATTEMPTS = 1
    (post,) = scheduled_posts_factory(alice, 1)
    lost_answer = claim_all(node)
    node_client.post("/api/posts/", lost_answer, format="json")  # published, but the node never heard
    claims_record_failure(node=node, claims=[Claim(**c) for c in lost_answer], error="timeout")  # so it reports a failure
    post.refresh_from_db()
    assert post.status == Status.PUBLISHED  # the report does not undo a publication

    (other,) = scheduled_posts_factory(alice, 1)
    claims_record_failure(node=node, claims=[Claim(**c) for c in claim_all(node)], error="main side down")
    other.refresh_from_db()
    assert other.status == Status.FAILED
    scheduled_post_retry(scheduled_post_id=other.pk, author=alice)
    claims = claim_all(node)
    assert node_client.post("/api/posts/", claims, format="json").status_code == 201
    assert node_client.post("/api/posts/", claims, format="json").status_code == 200
    assert Post.objects.filter(scheduled_post=other).count() == 1
    assert Post.objects.count() == 2


def test_it_answers_a_node_with_ids_when_asked(alice, node, node_client, scheduled_posts_factory):
    scheduled_posts_factory(alice, 2)
    claims = claim_all(node)
    stale = {**claims[1], "claim_token": "0" * 32}
    response = node_client.post("/api/posts/?answer=ids", [claims[0], stale], format="json")
    assert response.status_code == 201
    post = Post.objects.get()
    assert response.json() == [
        {"scheduled_post": claims[0]["scheduled_post"], "post": post.pk},
        {"scheduled_post": claims[1]["scheduled_post"], "error": "The claim expired and was taken over."},
    ]
    again = node_client.post("/api/posts/?answer=ids", claims[:1], format="json")
    assert again.status_code == 200
    assert again.json() == [{"scheduled_post": claims[0]["scheduled_post"], "post": post.pk}]


def test_it_records_lateness_of_weeks(alice, node, node_client, scheduled_posts_factory):
    # 30 days is 2.6e9 ms, beyond a 32-bit column: it once failed the whole batch with a 500.
    scheduled_posts_factory(alice, 2)
    claims = claim_all(node)
    weeks_ago = timezone.now() - timedelta(days=30)
    ScheduledPost.objects.filter(pk=claims[0]["scheduled_post"]).update(publish_at=weeks_ago)
    response = node_client.post("/api/posts/", claims, format="json")
    assert response.status_code == 201
    assert all("id" in post for post in response.json())
    late = ScheduledPost.objects.get(pk=claims[0]["scheduled_post"]).lateness_ms
    assert 30 * 86_400_000 <= late < 31 * 86_400_000
    assert Post.objects.count() == 2


@pytest.fixture
def poisoned_feed(transactional_db):
    """The database refuses a Post whose text is "poison" (a trigger: no code of ours is faked)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON feed_post WHEN NEW.text = 'poison' "
                "BEGIN SELECT RAISE(ABORT, 'poison'); END"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON feed_post FOR EACH ROW "
                "IF NEW.text = 'poison' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poison'; END IF"
            )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER poison")


def test_one_row_the_database_refuses_does_not_fail_its_batch(poisoned_feed, alice, node, node_client, scheduled_posts_factory):
    posts = scheduled_posts_factory(alice, 3)
    ScheduledPost.objects.filter(pk=posts[1].pk).update(text="poison")
    claims = claim_all(node)
    response = node_client.post("/api/posts/?answer=ids", claims, format="json")
    assert response.status_code == 201
    answers = {answer["scheduled_post"]: answer for answer in response.json()}
    assert "post" in answers[posts[0].pk] and "post" in answers[posts[2].pk]
    assert "refused" in answers[posts[1].pk]["error"]
    assert Post.objects.count() == 2
    poisoned = ScheduledPost.objects.get(pk=posts[1].pk)
    assert poisoned.status == Status.FAILED and poisoned.last_error
    assert ScheduledPost.objects.filter(status=Status.PUBLISHED).count() == 2


def test_the_one_post_of_a_batch_the_database_refuses_is_failed_and_answered(poisoned_feed, alice, node, node_client, scheduled_posts_factory):
    # A one-post batch is published without a savepoint: the refusal rolls the transaction
    # back, and it runs again with one, recording the refusal as for a longer batch.
    posts = scheduled_posts_factory(alice, 1)
    ScheduledPost.objects.filter(pk=posts[0].pk).update(text="poison")
    claims = claim_all(node)
    response = node_client.post("/api/posts/?answer=ids", claims, format="json")
    assert response.status_code == 409
    assert "refused" in response.json()[0]["error"]
    assert not Post.objects.exists()
    poisoned = ScheduledPost.objects.get(pk=posts[0].pk)
    assert poisoned.status == Status.FAILED and poisoned.last_error


def test_a_post_not_due_yet_by_the_database_clock_is_refused(alice, node, node_client, scheduled_posts_factory):
    # A node whose clock runs ahead would publish early: the callback checks the time itself.
    scheduled_posts_factory(alice, 1)
    claims = claim_due_posts(node=node, now=timezone.now(), horizon=timezone.now() + timedelta(days=1), limit=10)
    body = [claim_serialize(claim) for claim in claims]
    response = node_client.post("/api/posts/", body, format="json")
    assert response.status_code == 409
    assert "Not due yet" in response.json()[0]["error"]
    assert not Post.objects.exists()


def _due_soon(node, ahead):
    """The node's pending posts moved to fall due `ahead` from now by the database clock, and
    claimed; returns (their due_at, the callback's body)."""
    from psched.lib.db import db_now

    due = db_now() + ahead
    ScheduledPost.objects.filter(dispatcher=node, status=Status.PENDING).update(publish_at=due, due_at=due)
    claims = claim_due_posts(node=node, now=db_now(), horizon=due + timedelta(seconds=1), limit=10)
    return due, [claim_serialize(claim) for claim in claims]


def test_a_batch_sent_ahead_with_at_waits_for_its_time_and_is_published(alice, node, node_client, scheduled_posts_factory):
    # Nodes send each batch PSCHED_SEND_AHEAD_MS early with ?at=: the callback waits for it.
    scheduled_posts_factory(alice, 2)
    due, body = _due_soon(node, timedelta(milliseconds=150))
    response = node_client.post(f"/api/posts/?answer=ids&at={due.isoformat()}".replace("+", "%2B"), body, format="json")
    assert response.status_code == 201, response.json()
    assert all("post" in answer for answer in response.json())
    published = ScheduledPost.objects.filter(status=Status.PUBLISHED)
    assert published.count() == 2
    assert all(post.published_at >= post.publish_at and post.lateness_ms >= 0 for post in published)  # never early


def test_at_further_ahead_than_the_hold_does_not_wait_and_the_posts_are_refused(alice, node, node_client, scheduled_posts_factory):
    scheduled_posts_factory(alice, 1)
    due, body = _due_soon(node, timedelta(seconds=30))
    response = node_client.post(f"/api/posts/?answer=ids&at={due.isoformat()}".replace("+", "%2B"), body, format="json")
    assert response.status_code == 409
    assert "Not due yet" in response.json()[0]["error"]
    assert not Post.objects.exists()


@pytest.mark.parametrize("at", ["soon", "no offset"])
def test_a_bad_at_is_a_400_naming_it(alice, node, node_client, scheduled_posts_factory, at):
    if at == "no offset":  # a real instant a day from now, without its UTC offset
        at = (timezone.now() + timedelta(days=1)).replace(tzinfo=None).isoformat()
    scheduled_posts_factory(alice, 1)
    _, body = _due_soon(node, timedelta(seconds=30))
    response = node_client.post(f"/api/posts/?at={at}", body, format="json")
    assert response.status_code == 400
    assert "at" in response.json()


def test_a_claim_stuck_past_its_time_is_taken_over_and_its_holders_late_callback_is_refused(
    alice, node, node_client, api, scheduled_posts_factory
):
    scheduled_posts_factory(alice, 4)
    claims = claim_all(node)  # n1 holds all four; its callbacks crawl over a lossy link
    stuck, backlog, recent, ahead = (claim["scheduled_post"] for claim in claims)
    now = timezone.now()
    long_ago = now - timedelta(seconds=30)
    # Due and claimed 30 s ago; due 30 s ago but claimed just now (a backlog after an outage);
    # due a second ago; due in 30 s.
    ScheduledPost.objects.filter(pk=stuck).update(due_at=long_ago, updated_at=long_ago)
    ScheduledPost.objects.filter(pk=backlog).update(due_at=long_ago, updated_at=now)
    ScheduledPost.objects.filter(pk=recent).update(due_at=now - timedelta(seconds=1))
    ScheduledPost.objects.filter(pk=ahead).update(due_at=now + timedelta(seconds=30))
    other, _ = node_register(name="n2")
    taken = claim_due_posts(node=other, now=now, horizon=now + timedelta(seconds=1), limit=100, others=[node.pk])
    # Only the claim stuck well past its time and its claim moves, and taking it over is not
    # an attempt.
    assert [claim.scheduled_post for claim in taken] == [stuck]
    row = ScheduledPost.objects.get(pk=stuck)
    assert (row.status, row.dispatcher_id, row.claim_token, row.attempts) == (
        Status.PUBLISHING, other.pk, taken[0].claim_token, 1)
    assert set(ScheduledPost.objects.filter(dispatcher=node, status=Status.PUBLISHING).values_list("pk", flat=True)) == {
        backlog, recent, ahead}
    # n1's callback arrives at last: the post it lost is refused, the others go out.
    sent = [claim for claim in claims if claim["scheduled_post"] not in (ahead, backlog)]
    late = node_client.post("/api/posts/?answer=ids", sent, format="json")
    assert late.status_code == 201
    answers = {answer["scheduled_post"]: answer for answer in late.json()}
    assert answers[stuck] == {"scheduled_post": stuck, "error": "Claimed by another node."}
    assert "post" in answers[recent]
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Node n2:{node_credential_issue(node=other)}")
    assert client.post("/api/posts/", [claim_serialize(taken[0])], format="json").status_code == 201
    assert Post.objects.filter(scheduled_post_id=stuck).count() == 1
    assert Post.objects.get(scheduled_post_id=stuck).dispatcher_id == other.pk
