"""One zone on every page: the queue page and the series form take the zone the page says it
shows (the profile's, else the browser's cookie, else UTC), and the queue page offers to keep it."""
from datetime import timedelta

from django.utils import timezone

from accounts.services import user_set_timezone, user_timezone
from scheduling.models import QueueSlot
from scheduling.queue import queue_slots_replace, queued_post_create


def test_it_shows_the_queue_in_the_browsers_zone_and_offers_to_keep_it(client, alice):
    client.force_login(alice)
    client.cookies["psched_zone"] = "Europe/Paris"
    page = client.get("/queue/").content.decode()
    assert "Slots are weekly, in Europe/Paris, your\n  browser's zone" in page and "Posting slots" in page
    assert 'action="/queue/zone/"' in page and 'name="timezone" value="Europe/Paris"' in page
    assert "Adding a slot keeps Europe/Paris in your profile" in page


def test_it_keeps_the_zone_and_replaces_the_queued_posts_in_it(client, alice):
    queue_slots_replace(user=alice, slots=[{"weekday": 1, "time": "09:00"}])
    post = queued_post_create(author=alice, text="queued in UTC")
    client.force_login(alice)
    client.cookies["psched_zone"] = "Asia/Tokyo"
    page = client.get("/queue/").content.decode()
    assert "Slots are weekly, in UTC;" in page
    assert "Your profile has no zone, so your slots are read in UTC; your browser's is Asia/Tokyo." in page
    response = client.post("/queue/zone/", {"timezone": "Asia/Tokyo"})
    assert response.status_code == 302 and response["Location"] == "/queue/"
    assert user_timezone(user=alice) == "Asia/Tokyo"
    post.refresh_from_db()
    local = post.publish_at.astimezone(timezone.get_fixed_timezone(timedelta(hours=9)))
    assert post.timezone == "Asia/Tokyo" and (local.weekday(), local.hour) == (1, 9)
    page = client.get("/queue/").content.decode()
    assert 'action="/queue/zone/"' not in page and "Slots are weekly, in Asia/Tokyo;" in page


def test_it_refuses_a_zone_that_is_not_one(client, alice):
    client.force_login(alice)
    response = client.post("/queue/zone/", {"timezone": "Mars/Olympus"}, follow=True)
    assert "That is not a time zone" in response.content.decode() and user_timezone(user=alice) == ""


def test_it_reads_a_slot_added_on_the_page_in_the_zone_it_showed(client, alice):
    client.force_login(alice)
    response = client.post("/queue/slots/add/", {"weekday": "1", "time": "09:00", "timezone": "Europe/Paris"}, follow=True)
    assert "Slot added (Europe/Paris)" in response.content.decode()
    assert user_timezone(user=alice) == "Europe/Paris" and QueueSlot.objects.filter(user=alice).count() == 1


def test_it_leaves_a_profile_zone_alone_when_a_slot_is_added(client, alice):
    user_set_timezone(user=alice, timezone_name="America/New_York")
    client.force_login(alice)
    client.post("/queue/slots/add/", {"weekday": "1", "time": "09:00", "timezone": "Europe/Paris"})
    assert user_timezone(user=alice) == "America/New_York"


def test_it_starts_the_series_form_in_the_pages_zone(client, alice):
    client.force_login(alice)
    assert 'value="UTC"' in client.get("/scheduled/series/new/").content.decode()
    client.cookies["psched_zone"] = "Europe/Paris"
    page = client.get("/scheduled/series/new/").content.decode()
    assert 'name="timezone" value="Europe/Paris"' in page
    user_set_timezone(user=alice, timezone_name="Asia/Tokyo")
    assert 'name="timezone" value="Asia/Tokyo"' in client.get("/scheduled/series/new/").content.decode()
