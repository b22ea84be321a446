from datetime import timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.test import Client

from accounts.services import user_set_timezone
from scheduling.models import ScheduledPost
from scheduling.services import scheduled_post_create
from tests.dates import dst_fold

FOLD, FOLD_FIRST_UTC = dst_fold()


def test_it_lists_upcoming_posts_in_my_zone_with_a_relative_time(client, alice, scheduled_post_factory):
    user_set_timezone(user=alice, timezone_name="Asia/Tokyo")
    post = scheduled_post_factory(alice, "soon", after=timedelta(minutes=3))
    client.force_login(alice)
    page = client.get("/scheduled/").content.decode()
    local = post.publish_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{local:%Y-%m-%d %H:%M:%S} JST" in page
    assert "in 2\xa0minutes" in page or "in 3\xa0minutes" in page
    assert f'href="/scheduled/{post.id}/edit/"' in page


def test_it_shows_only_my_posts(client, alice, bob, scheduled_post_factory):
    scheduled_post_factory(alice, "alice's plan", after=timedelta(minutes=3))
    scheduled_post_factory(bob, "bob's plan", after=timedelta(minutes=3))
    client.force_login(alice)
    page = client.get("/scheduled/").content.decode()
    # bob's text, not "bob": a page's random tokens (CSRF) may hold those three letters.
    assert "alice&#x27;s plan" in page and "bob&#x27;s plan" not in page


def test_it_shows_the_receipt_of_a_published_post(client, alice, published):
    published(alice, text="went out", late_ms=420)
    client.force_login(alice)
    page = client.get("/scheduled/").content.decode()
    assert "by node n1 after 1 attempt," in page and "420 ms late" in page


def test_it_shows_a_failed_posts_error_and_a_retry_button(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, after=timedelta(minutes=3))
    ScheduledPost.objects.filter(pk=post.pk).update(status="failed", attempts=12, last_error="POST /api/posts/ answered 502")
    client.force_login(alice)
    page = client.get("/scheduled/").content.decode()
    assert "Failed after 12 attempts: the feed could not be reached" in page
    assert f'action="/scheduled/{post.id}/retry/"' in page


def test_it_shows_a_dst_fold_note(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, after=timedelta(minutes=3))
    # FOLD_FIRST_UTC is the first of the two FOLDs in Paris that night (still summer time).
    ScheduledPost.objects.filter(pk=post.pk).update(publish_at=FOLD_FIRST_UTC.replace(tzinfo=dt_timezone.utc), timezone="Europe/Paris")
    client.force_login(alice)
    assert f"{FOLD:%Y-%m-%d %H:%M} happens twice in Europe/Paris" in client.get("/scheduled/").content.decode()


def test_it_cancels_my_post(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, after=timedelta(minutes=3))
    client.force_login(alice)
    response = client.post(f"/scheduled/{post.id}/cancel/")
    assert response.status_code == 302 and response["Location"] == "/scheduled/"
    post.refresh_from_db()
    assert post.status == "cancelled"


def test_it_does_not_cancel_someone_elses_post(client, alice, bob, scheduled_post_factory):
    post = scheduled_post_factory(bob, after=timedelta(minutes=3))
    client.force_login(alice)
    assert client.post(f"/scheduled/{post.id}/cancel/").status_code == 404
    post.refresh_from_db()
    assert post.status == "pending"


def test_it_explains_why_a_published_post_cannot_be_cancelled(client, alice, published):
    row = published(alice)
    client.force_login(alice)
    page = client.post(f"/scheduled/{row.id}/cancel/", follow=True).content.decode()
    assert "already published; it can no longer be cancelled" in page


def test_it_retries_a_failed_post(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, after=timedelta(minutes=3))
    ScheduledPost.objects.filter(pk=post.pk).update(status="failed", attempts=12)
    client.force_login(alice)
    client.post(f"/scheduled/{post.id}/retry/")
    post.refresh_from_db()
    assert post.status == "pending" and post.attempts == 0


def test_it_refuses_to_retry_a_pending_post(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, after=timedelta(minutes=3))
    client.force_login(alice)
    page = client.post(f"/scheduled/{post.id}/retry/", follow=True).content.decode()
    assert "Only failed posts can be retried; this one is pending." in page


def test_it_asks_before_cancelling_and_only_cancels_by_post(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, "keep me", after=timedelta(minutes=3))
    client.force_login(alice)
    response = client.get(f"/scheduled/{post.id}/cancel/")
    page = response.content.decode()
    assert response.status_code == 200 and "Cancel this post?" in page and "keep me" in page
    assert f'action="/scheduled/{post.id}/cancel/"' in page
    post.refresh_from_db()
    assert post.status == ScheduledPost.Status.PENDING


def test_it_requires_the_csrf_token_to_cancel(alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, after=timedelta(minutes=3))
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/scheduled/{post.id}/cancel/").status_code == 403


def test_it_requires_login(client, db):
    response = client.get("/scheduled/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_shows_authors_a_plain_reason_not_the_internal_error(client, alice, staff, scheduled_post_factory):
    post = scheduled_post_factory(alice)
    internal = "POST http://10.0.3.7:8000/api/posts/ answered 502: <html><title>Bad Gateway</title>"
    ScheduledPost.objects.filter(pk=post.pk).update(status="failed", attempts=12, last_error=internal)
    client.force_login(alice)
    page = client.get("/scheduled/").content.decode()
    assert "Failed after 12 attempts: the feed could not be reached" in page
    assert "10.0.3.7" not in page and "Bad Gateway" not in page
