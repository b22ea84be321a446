"""Duplicate (a published post) and Reschedule (a cancelled or failed one): a new scheduled post."""
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from scheduling.models import ScheduledPost
from scheduling.services import draft_create, scheduled_post_cancel


def local(zone, **delta):
    return (timezone.now() + timedelta(**delta)).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")


def test_it_reschedules_a_cancelled_post_as_a_new_one(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, "try again", after=timedelta(hours=2), zone="Asia/Tokyo")
    scheduled_post_cancel(scheduled_post_id=post.id, author=alice)
    client.force_login(alice)
    page = client.get("/scheduled/").content.decode()
    assert f'href="/scheduled/{post.id}/duplicate/"' in page and ">Reschedule</a>" in page
    form = client.get(f"/scheduled/{post.id}/duplicate/").content.decode()
    assert "Reschedule a post" in form and "try again" in form and 'value="Asia/Tokyo"' in form
    response = client.post(f"/scheduled/{post.id}/duplicate/", {
        "text": "try again", "publish_at": local("Asia/Tokyo", hours=3), "timezone": "Asia/Tokyo",
    })
    assert response.status_code == 302 and response["Location"] == "/scheduled/"
    copy = ScheduledPost.objects.exclude(pk=post.pk).get(author=alice)
    assert copy.status == ScheduledPost.Status.PENDING and copy.text == "try again"
    post.refresh_from_db()
    assert post.status == ScheduledPost.Status.CANCELLED


def test_it_offers_to_duplicate_a_published_post(client, alice, published):
    row = published(alice, text="again next week")
    client.force_login(alice)
    page = client.get("/scheduled/").content.decode()
    assert f'href="/scheduled/{row.id}/duplicate/"' in page and ">Duplicate</a>" in page
    form = client.get(f"/scheduled/{row.id}/duplicate/").content.decode()
    assert "Duplicate a post" in form and "again next week" in form


def test_it_shows_errors_and_keeps_the_text(client, alice, published):
    row = published(alice, text="keep me")
    client.force_login(alice)
    response = client.post(f"/scheduled/{row.id}/duplicate/", {"text": "keep me", "publish_at": local("UTC", hours=-1), "timezone": "UTC"})
    assert response.status_code == 200 and "is in the past" in response.content.decode()
    assert ScheduledPost.objects.filter(author=alice).count() == 1


def test_it_is_only_for_the_author(client, alice, bob, published):
    row = published(alice)
    client.force_login(bob)
    assert client.get(f"/scheduled/{row.id}/duplicate/").status_code == 404


def test_it_copies_a_draft_with_no_time_to_start_from(client, alice):
    draft = draft_create(author=alice, text="someday", timezone_name="Asia/Tokyo")
    client.force_login(alice)
    form = client.get(f"/scheduled/{draft.id}/duplicate/")
    assert form.status_code == 200 and "someday" in form.content.decode()
    response = client.post(f"/scheduled/{draft.id}/duplicate/", {
        "text": "someday", "publish_at": local("Asia/Tokyo", hours=3), "timezone": "Asia/Tokyo",
    })
    assert response.status_code == 302
    assert ScheduledPost.objects.filter(author=alice, status=ScheduledPost.Status.PENDING, text="someday").count() == 1
