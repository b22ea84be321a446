from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.test import Client
from django.utils import timezone

from scheduling.models import ScheduledPost

PARIS = ZoneInfo("Europe/Paris")


def last_sunday(month: int) -> str:
    """Next year's last Sunday of the month: when Europe's clocks change (March, October)."""
    day = datetime(timezone.now().year + 1, month + 1, 1) - timedelta(days=1)
    return (day - timedelta(days=(day.weekday() + 1) % 7)).strftime("%Y-%m-%d")


def local_in(zone, **delta) -> str:
    return (timezone.now() + timedelta(**delta)).astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


def test_it_is_where_the_feeds_schedule_button_posts(client, alice):
    client.force_login(alice)
    page = client.get("/?author=alice").content.decode()
    assert page.count('formaction="/scheduled/new/?author=alice"') == 2  # the visible button and Enter's


def test_it_schedules_a_local_time_in_a_zone(client, alice):
    client.force_login(alice)
    local = local_in(PARIS, hours=2)
    response = client.post("/scheduled/new/", {"text": "later", "action": "schedule", "publish_at": local, "timezone": "Europe/Paris"})
    assert response.status_code == 302 and response["Location"] == "/scheduled/"
    row = ScheduledPost.objects.get()
    assert row.timezone == "Europe/Paris"
    expected = datetime.fromisoformat(local).replace(tzinfo=PARIS).astimezone(dt_timezone.utc)
    assert row.publish_at == expected
    assert "Scheduled for" in client.get("/scheduled/").content.decode()


def test_it_asks_for_a_time_to_schedule(client, alice):
    client.force_login(alice)
    response = client.post("/scheduled/new/", {"text": "later", "action": "schedule", "publish_at": "", "timezone": "UTC"})
    assert response.context["form"].errors["publish_at"] == ["Pick the date and time to publish at."]
    assert not ScheduledPost.objects.exists()


def test_it_shows_a_time_in_the_past_next_to_the_field(client, alice):
    client.force_login(alice)
    response = client.post("/scheduled/new/", {"text": "x", "action": "schedule", "publish_at": "2020-01-01T10:00", "timezone": "UTC"})
    assert "is in the past" in response.context["form"].errors["publish_at"][0]


def test_it_explains_a_dst_gap(client, alice):
    client.force_login(alice)
    response = client.post("/scheduled/new/", {"text": "x", "action": "schedule", "publish_at": f"{last_sunday(3)}T02:30", "timezone": "Europe/Paris"})
    assert "does not exist in Europe/Paris" in response.context["form"].errors["publish_at"][0]


def test_it_names_an_unknown_zone(client, alice):
    client.force_login(alice)
    response = client.post("/scheduled/new/", {"text": "x", "action": "schedule", "publish_at": local_in(PARIS, hours=1), "timezone": "Mars/Olympus"})
    assert "Unknown time zone" in response.context["form"].errors["timezone"][0]


def test_it_says_which_occurrence_of_a_dst_fold_it_took(client, alice):
    client.force_login(alice)
    response = client.post(
        "/scheduled/new/", {"text": "x", "action": "schedule", "publish_at": f"{last_sunday(10)}T02:30", "timezone": "Europe/Paris"}, follow=True
    )
    assert "happens twice in Europe/Paris; psched uses the first one (UTC+02:00)" in response.content.decode()


def test_it_shows_errors_on_the_feed_page(client, alice):
    client.force_login(alice)
    response = client.post("/scheduled/new/", {"text": "   ", "action": "schedule", "publish_at": local_in(PARIS, hours=1), "timezone": "Europe/Paris"})
    assert response.status_code == 200
    assert "feed/index.html" in [template.name for template in response.templates]
    assert response.context["form"].errors["text"] == ["Write something: the text is empty."]


def test_it_passes_on_an_old_forms_schedule_sent_to_the_feed(client, alice):
    client.force_login(alice)
    data = {"text": "later", "action": "schedule", "publish_at": local_in(PARIS, hours=2), "timezone": "Europe/Paris"}
    response = client.post("/", data)
    assert response.status_code == 307 and response["Location"] == "/scheduled/new/"
    assert client.post("/", data, follow=True).redirect_chain[-1] == ("/scheduled/", 302)
    assert ScheduledPost.objects.count() == 1


def test_it_sends_anonymous_visitors_to_the_login_page(client, db):
    response = client.post("/scheduled/new/", {"text": "hi", "action": "schedule", "publish_at": local_in(PARIS, hours=1)})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not ScheduledPost.objects.exists()


def test_it_requires_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/scheduled/new/", {"text": "hi", "action": "schedule", "publish_at": local_in(PARIS, hours=1)})
    assert response.status_code == 403
