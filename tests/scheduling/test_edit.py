from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.utils import timezone

from scheduling.models import ScheduledPost
from scheduling.services import scheduled_post_create
from tests.dates import dst_fold

FOLD, FOLD_FIRST_UTC = dst_fold()

PARIS = ZoneInfo("Europe/Paris")


def local_in(zone, **delta) -> str:
    return (timezone.now() + timedelta(**delta)).astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


def test_it_prefills_the_local_time_in_the_posts_zone(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, "draft", zone="Europe/Paris")
    client.force_login(alice)
    page = client.get(f"/scheduled/{post.id}/edit/").content.decode()
    assert f'value="{post.publish_at.astimezone(PARIS):%Y-%m-%dT%H:%M:%S}"' in page
    assert 'value="Europe/Paris"' in page and "draft</textarea>" in page


def test_it_changes_text_and_time(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, "draft", zone="Europe/Paris")
    client.force_login(alice)
    local = local_in(ZoneInfo("America/New_York"), hours=2)
    response = client.post(f"/scheduled/{post.id}/edit/", {"text": "final", "publish_at": local, "timezone": "America/New_York"})
    assert response.status_code == 302 and response["Location"] == "/scheduled/"
    post.refresh_from_db()
    assert (post.text, post.timezone, post.version) == ("final", "America/New_York", 2)
    assert post.publish_at == datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("America/New_York")).astimezone(dt_timezone.utc)


def test_it_shows_errors_next_to_the_fields(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, "draft", zone="Europe/Paris")
    client.force_login(alice)
    response = client.post(f"/scheduled/{post.id}/edit/", {"text": " ", "publish_at": "2020-01-01T00:00", "timezone": "UTC"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["text"] == ["Write something: the text is empty."]
    assert "is in the past" in errors["publish_at"][0]
    post.refresh_from_db()
    assert post.text == "draft"


def test_it_asks_for_a_time_and_a_zone(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, "draft", zone="Europe/Paris")
    client.force_login(alice)
    errors = client.post(f"/scheduled/{post.id}/edit/", {"text": "x", "publish_at": "", "timezone": ""}).context["form"].errors
    assert errors["publish_at"] == ["Pick the date and time to publish at."]
    assert errors["timezone"] == ["Give an IANA time zone such as Europe/Paris."]


def test_it_says_when_the_post_was_published_meanwhile(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, "draft", zone="Europe/Paris")
    client.force_login(alice)
    ScheduledPost.objects.filter(pk=post.pk).update(status="published")
    response = client.post(
        f"/scheduled/{post.id}/edit/", {"text": "too late", "publish_at": local_in(PARIS, hours=1), "timezone": "Europe/Paris"}, follow=True
    )
    assert "This post is published; it can no longer be changed." in response.content.decode()
    post.refresh_from_db()
    assert post.text == "draft"


def test_it_reports_the_dst_fold_it_resolved(client, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice, "draft", zone="Europe/Paris")
    client.force_login(alice)
    page = client.post(
        f"/scheduled/{post.id}/edit/", {"text": "x", "publish_at": f"{FOLD:%Y-%m-%dT%H:%M}", "timezone": "Europe/Paris"}, follow=True
    ).content.decode()
    assert "Saved." in page and f"{FOLD:%Y-%m-%d %H:%M} happens twice in Europe/Paris; psched uses the first one (UTC+02:00)" in page


def test_it_does_not_show_someone_elses_post(client, alice, bob, scheduled_post_factory):
    post = scheduled_post_factory(bob, "draft", zone="Europe/Paris")
    client.force_login(alice)
    assert client.get(f"/scheduled/{post.id}/edit/").status_code == 404


def test_it_keeps_a_post_at_the_second_occurrence_of_a_dst_fold_when_only_the_text_changes(client, alice):
    # The second FOLD in Paris, after the clocks went back: UTC+01:00.
    post = scheduled_post_create(author=alice, text="draft", publish_at=f"{FOLD:%Y-%m-%dT%H:%M:%S}+01:00", timezone_name="Europe/Paris")
    second = post.publish_at
    assert second.replace(tzinfo=None) == FOLD_FIRST_UTC + timedelta(hours=1)
    client.force_login(alice)
    form = client.get(f"/scheduled/{post.id}/edit/").context["form"]
    # What the browser sends back: the page's own values, only the text changed.
    response = client.post(f"/scheduled/{post.id}/edit/", {
        "text": "new words", "publish_at": form.initial["publish_at"], "timezone": form.initial["timezone"],
    })
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.text, post.publish_at, post.due_at) == ("new words", second, second)
