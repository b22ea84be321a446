from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from accounts.services import user_set_timezone
from scheduling.models import QueueSlot, ScheduledPost, Series
from scheduling.queue import queue_slots_replace, queued_post_create


def tomorrow() -> str:
    return (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")


def test_it_saves_a_draft_from_the_compose_form(client, alice):
    client.force_login(alice)
    response = client.post("/scheduled/draft/", {"text": "an idea", "action": "draft"})
    assert response.status_code == 302 and response["Location"] == "/scheduled/"
    draft = ScheduledPost.objects.get(author=alice)
    assert draft.status == "draft" and draft.publish_at is None
    page = client.get("/scheduled/").content.decode()
    assert f'id="draft-{draft.id}"' in page and "an idea" in page


def test_it_adds_to_the_queue_from_the_compose_form_and_says_which_slot(client, alice):
    user_set_timezone(user=alice, timezone_name="Europe/Paris")
    queue_slots_replace(user=alice, slots=[{"weekday": 1, "time": "09:00"}])
    client.force_login(alice)
    response = client.post("/queue/new/", {"text": "queued one", "action": "queue"}, follow=True)
    page = response.content.decode()
    assert "Queued for Tue " in page and " 09:00 Europe/Paris" in page
    assert "queued one" in page


def test_it_explains_that_the_queue_needs_slots(client, alice):
    client.force_login(alice)
    page = client.post("/queue/new/", {"text": "queued one", "action": "queue"}).content.decode()
    assert "You have no posting slots yet" in page
    assert not ScheduledPost.objects.exists()


def test_it_queues_a_draft_from_the_scheduled_page(client, alice):
    queue_slots_replace(user=alice, slots=[{"weekday": 3, "time": "10:00"}])
    client.force_login(alice)
    client.post("/scheduled/draft/", {"text": "draft one", "action": "draft"})
    draft = ScheduledPost.objects.get(author=alice)
    response = client.post(f"/scheduled/{draft.id}/edit/", {"text": "draft one", "timezone": "UTC", "action": "queue"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "pending" and draft.queued and draft.publish_at.weekday() == 3


def test_it_schedules_a_draft_from_its_edit_page(client, alice):
    client.force_login(alice)
    client.post("/scheduled/draft/", {"text": "draft one", "action": "draft"})
    draft = ScheduledPost.objects.get(author=alice)
    when = (timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    page = client.post(f"/scheduled/{draft.id}/edit/", {"text": "x", "timezone": "UTC", "action": "save"}).content.decode()
    assert "Pick the date and time to publish at." in page
    client.post(f"/scheduled/{draft.id}/edit/", {"text": "x", "timezone": "UTC", "publish_at": when, "action": "save"})
    draft.refresh_from_db()
    assert draft.status == "pending" and draft.publish_at is not None


def test_it_edits_slots_and_moves_and_shares_from_the_queue_page(client, alice):
    client.force_login(alice)
    client.post("/queue/slots/add/", {"weekday": "0", "time": "09:00"})
    client.post("/queue/slots/add/", {"weekday": "4", "time": "17:30:15"})
    assert [(s.weekday, s.time.isoformat()) for s in QueueSlot.objects.filter(user=alice)] == [(0, "09:00:00"), (4, "17:30:15")]
    first = queued_post_create(author=alice, text="alpha post")
    second = queued_post_create(author=alice, text="bravo post")
    page = client.get("/queue/").content.decode()
    assert page.index("alpha post") < page.index("bravo post") and "17:30:15" in page
    client.post(f"/queue/{second.id}/up/")
    page = client.get("/queue/").content.decode()
    assert page.index("bravo post") < page.index("alpha post")
    client.post(f"/queue/{first.id}/share-now/")
    first.refresh_from_db()
    assert not first.queued and first.publish_at <= timezone.now()
    slot = QueueSlot.objects.get(user=alice, weekday=0)
    client.post(f"/queue/slots/{slot.id}/remove/")
    assert QueueSlot.objects.filter(user=alice).count() == 1


def test_it_creates_a_weekday_series_from_the_form(client, alice):
    client.force_login(alice)
    start = (timezone.now().astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    response = client.post("/scheduled/series/new/", {
        "text": "good morning", "start": start, "timezone": "Europe/Paris", "repeat": "weekdays", "end": "count", "count": "10",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    series = Series.objects.get(author=alice)
    assert series.rrule == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=10"
    page = client.get("/scheduled/").content.decode()
    assert f'id="series-{series.id}"' in page and "09:00" in page
    assert "occurrence 1 of 10 of series" in page


def test_it_builds_the_rule_of_each_repeat_choice(client, alice):
    client.force_login(alice)
    start = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT08:00")
    cases = [
        ({"repeat": "weekly", "days": ["MO", "TH"], "end": "until", "until": (timezone.now() + timedelta(days=60)).strftime("%Y-%m-%d")},
         "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL="),
        ({"repeat": "monthly_last", "end": "never"}, "FREQ=MONTHLY;BYDAY=-1"),
        ({"repeat": "custom", "rrule": "freq=daily;count=2", "end": "never"}, "FREQ=DAILY;COUNT=2"),
    ]
    for fields, expected in cases:
        client.post("/scheduled/series/new/", {"text": "t", "start": start, "timezone": "UTC", **fields})
        assert Series.objects.order_by("-pk").first().rrule.startswith(expected)


def test_it_shows_rule_errors_on_the_series_form(client, alice):
    client.force_login(alice)
    start = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT08:00")
    page = client.post("/scheduled/series/new/", {
        "text": "t", "start": start, "timezone": "UTC", "repeat": "custom", "rrule": "FREQ=MINUTELY", "end": "never",
    }).content.decode()
    assert "minimum interval" in page and not Series.objects.exists()


def test_it_edits_and_stops_a_series_from_the_pages(client, alice):
    client.force_login(alice)
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    client.post("/scheduled/series/new/", {"text": "t", "start": start, "timezone": "UTC", "repeat": "daily", "end": "count", "count": "3"})
    series = Series.objects.get()
    client.post(f"/scheduled/series/{series.id}/edit/", {"text": "changed", "rrule": series.rrule})
    assert set(ScheduledPost.objects.filter(series=series).values_list("text", flat=True)) == {"changed"}
    client.post(f"/scheduled/series/{series.id}/stop/")
    assert set(ScheduledPost.objects.filter(series=series).values_list("status", flat=True)) == {"cancelled"}


def test_it_says_which_occurrence_in_the_feed_receipt(client, alice, published):
    row = published(alice, text="from a series")
    series = Series.objects.create(author=alice, text="from a series", start=timezone.now().replace(tzinfo=None),
                                   timezone="UTC", rrule="FREQ=DAILY;COUNT=10")
    ScheduledPost.objects.filter(pk=row.pk).update(series=series, series_index=3)
    page = client.get("/").content.decode()
    assert f"occurrence 3 of 10 of series #{series.id}" in page


def test_a_series_started_more_than_a_year_ago_can_still_be_edited(client, api, alice):
    from datetime import datetime

    from scheduling.series import series_create

    series = series_create(author=alice, text="t", start=tomorrow(), timezone_name="UTC", rrule_text="FREQ=WEEKLY")
    old_start = datetime.fromisoformat(tomorrow()) - timedelta(days=800)
    Series.objects.filter(pk=series.pk).update(start=old_start)  # it has run for two years
    client.force_login(alice)
    response = client.post(f"/scheduled/series/{series.id}/edit/", {"text": "new text", "rrule": series.rrule})
    assert response.status_code == 302
    assert api(alice).patch(f"/api/series/{series.pk}/", {"rrule": "FREQ=WEEKLY;INTERVAL=2"}, format="json").status_code == 200
    series.refresh_from_db()
    assert series.text == "new text" and series.start == old_start
    # A new start is still checked.
    response = api(alice).patch(f"/api/series/{series.pk}/", {"start": old_start.isoformat()}, format="json")
    assert response.status_code == 400 and "a year ago" in response.json()["start"][0]


def test_every_page_that_schedules_is_throttled_like_the_api(client, alice, low_rates, published):
    # 2 posts a minute, counted together by the API and the pages.
    client.force_login(alice)
    assert client.post("/queue/slots/add/", {"weekday": "0", "time": "09:00"}).status_code == 302
    assert client.post("/scheduled/draft/", {"text": "one", "action": "draft"}).status_code == 302
    assert client.post("/queue/new/", {"text": "two", "action": "queue"}).status_code == 302
    when = tomorrow()
    done = published(alice)
    pages = [
        ("/scheduled/new/", {"text": "three", "publish_at": when, "timezone": "UTC"}),
        ("/scheduled/draft/", {"text": "three", "action": "draft"}),
        ("/queue/new/", {"text": "three", "action": "queue"}),
        (f"/scheduled/{done.pk}/duplicate/", {"text": "three", "publish_at": when, "timezone": "UTC"}),
        ("/scheduled/series/new/", {"text": "three", "start": when, "timezone": "UTC", "repeat": "daily", "end": "count", "count": "2"}),
    ]
    before = ScheduledPost.objects.count()
    for path, data in pages:
        response = client.post(path, data)
        assert response.status_code == 429, path
        assert "too fast" in response.content.decode(), path
    assert ScheduledPost.objects.count() == before and not Series.objects.exists()
