from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import user_set_timezone
from scheduling.models import ScheduledPost
from scheduling.queue import queue_slots_replace, queued_post_create
from scheduling.series import series_create
from scheduling.services import draft_create, scheduled_post_cancel, scheduled_post_create


def schedule(author, text="later", hours=30, zone="UTC"):
    when = (timezone.now() + timedelta(hours=hours)).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")
    return scheduled_post_create(author=author, text=text, publish_at=when, timezone_name=zone)


def week_of(post, zone="UTC"):
    return f"/calendar/?view=week&date={post.publish_at.astimezone(ZoneInfo(zone)):%Y-%m-%d}"


def chip_of(page: str, pk: int) -> str:
    at = page.index(f'id="cal-post-{pk}"')
    return page[page.rindex("<li", 0, at):page.index("</li>", at)]


def test_it_shows_my_posts_in_my_zone_linking_to_their_edit_page(client, alice, bob):
    user_set_timezone(user=alice, timezone_name="Asia/Tokyo")
    post = schedule(alice, text="plan <b>this</b>")
    schedule(bob, text="bob's plan")
    client.force_login(alice)
    response = client.get(week_of(post, "Asia/Tokyo"))
    page = response.content.decode()
    assert response.status_code == 200
    local = post.publish_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f'href="/scheduled/{post.id}/edit/"' in page
    assert f'<time class="cal-time" datetime="{post.publish_at.isoformat()}">{local:%H:%M}</time>' in page
    assert "plan &lt;b&gt;this&lt;/b&gt;" in page and "<b>this" not in page
    assert "bob&#x27;s plan" not in page  # not "bob": a random CSRF token may hold those letters
    assert "Times in <strong>Asia/Tokyo</strong>" in page


def test_it_shows_a_month(client, alice):
    post = schedule(alice, text="monthly", hours=24 * 3)
    client.force_login(alice)
    page = client.get(f"/calendar/?view=month&date={post.publish_at:%Y-%m-%d}").content.decode()
    assert f'id="cal-post-{post.id}"' in page and f'data-date="{post.publish_at:%Y-%m-%d}"' in page
    assert f"{post.publish_at:%B %Y}" in page


def test_it_shows_the_receipt_of_a_published_post_and_the_error_of_a_failed_one(client, alice, published):
    row = published(alice, text="went out", late_ms=420)
    failed = schedule(alice, text="did not go", hours=1)
    ScheduledPost.objects.filter(pk=failed.pk).update(status="failed", last_error="main side answered 503", attempts=12)
    client.force_login(alice)
    page = client.get("/calendar/").content.decode()
    assert "420 ms late · node n1" in chip_of(page, row.id)
    page = client.get(week_of(failed)).content.decode()
    assert "Failed: the feed could not be reached" in chip_of(page, failed.id)


def test_it_shows_authors_a_plain_reason_not_the_internal_error(client, alice):
    failed = schedule(alice, text="did not go", hours=1)
    internal = "HTTPConnectionPool(host='10.0.3.7', port=8000): Read timed out"
    ScheduledPost.objects.filter(pk=failed.pk).update(status="failed", last_error=internal, attempts=12)
    client.force_login(alice)
    for view in ("week", "day", "month"):
        page = client.get(f"/calendar/?view={view}&date={failed.publish_at:%Y-%m-%d}").content.decode()
        assert "Failed: the feed could not be reached" in page and "10.0.3.7" not in page, view


def test_it_shows_a_day_that_never_happened_in_the_zone(client, alice):
    # Samoa skipped 2011-12-30 when it moved across the date line.
    client.force_login(alice)
    response = client.get("/calendar/?view=day&date=2011-12-30&tz=Pacific/Apia")
    assert response.status_code == 200
    assert "did not happen in Pacific/Apia" in response.content.decode()
    assert client.get("/calendar/?view=week&date=2011-12-30&tz=Pacific/Apia").status_code == 200


def test_it_shows_cancelled_posts_only_when_asked(client, alice):
    post = schedule(alice, text="never mind")
    scheduled_post_cancel(scheduled_post_id=post.id, author=alice)
    client.force_login(alice)
    assert "never mind" not in client.get(week_of(post)).content.decode()
    page = client.get(week_of(post) + "&cancelled=1").content.decode()
    assert "never mind" in page and "s-cancelled" in page


def test_it_takes_the_browsers_zone_when_the_profile_has_none(client, alice):
    client.force_login(alice)
    assert "Times in <strong>UTC</strong> (no zone set)" in client.get("/calendar/").content.decode()
    client.cookies["psched_tz"] = "America/New_York"
    assert "Times in <strong>America/New_York</strong> (your browser" in client.get("/calendar/").content.decode()
    page = client.get("/calendar/?tz=Europe/Paris").content.decode()
    assert "Times in <strong>Europe/Paris</strong>" in page
    client.cookies["psched_tz"] = "Not/AZone"
    assert "Times in <strong>UTC</strong>" in client.get("/calendar/").content.decode()
    user_set_timezone(user=alice, timezone_name="Asia/Tokyo")
    assert "Times in <strong>Asia/Tokyo</strong>" in client.get("/calendar/?tz=Europe/Paris").content.decode()


def test_it_takes_the_zone_the_site_has_from_the_browser(client, alice):
    client.force_login(alice)
    client.cookies["psched_zone"] = "Asia/Tokyo"  # set by site.js on any page
    page = client.get("/calendar/").content.decode()
    assert "Times in <strong>Asia/Tokyo</strong> (your browser" in page
    assert 'data-zone="Asia/Tokyo" data-zone-source="browser"' in page


def test_it_answers_a_bad_date_or_view_with_400_naming_the_field(client, alice):
    client.force_login(alice)
    response = client.get("/calendar/?date=2025-02-30")
    assert response.status_code == 400 and "date: &#x27;2025-02-30&#x27; is not a date" in response.content.decode()
    response = client.get("/calendar/?view=year")
    assert response.status_code == 400 and "view: Unknown view" in response.content.decode()
    assert client.get("/calendar/?view=month&date=0001-01-01").status_code == 400


def test_it_offers_to_compose_in_a_future_hour(client, alice):
    user_set_timezone(user=alice, timezone_name="Europe/Paris")
    client.force_login(alice)
    later = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("Europe/Paris")).replace(minute=0)
    page = client.get(f"/calendar/?date={later:%Y-%m-%d}").content.decode()
    assert f'href="/?publish_at={later:%Y-%m-%dT%H}%3A00&timezone=Europe/Paris#compose"' in page
    compose = client.get(f"/?publish_at={later:%Y-%m-%dT%H}:00&timezone=Europe/Paris").content.decode()
    assert f'value="{later:%Y-%m-%dT%H}:00"' in compose


def test_it_needs_a_login(client):
    response = client.get("/calendar/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def queries_for(client, url) -> int:
    """The page's queries, not counting the process's clock re-read (db_now_cached), which
    falls into whichever request comes after CLOCK_REREAD_SECONDS: on a loaded machine, any."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return sum("UTC_TIMESTAMP" not in q["sql"] and "strftime" not in q["sql"] for q in queries.captured_queries)


def test_it_reads_the_posts_in_one_query_however_many_there_are(client, alice):
    client.force_login(alice)
    first = schedule(alice, text="one", hours=30)
    week, month = week_of(first), f"/calendar/?view=month&date={first.publish_at:%Y-%m-%d}"
    few = (queries_for(client, week), queries_for(client, month))
    for i in range(40):
        schedule(alice, text=f"more {i}", hours=30 + i / 10)
    assert (queries_for(client, week), queries_for(client, month)) == few
    with CaptureQueriesContext(connection) as queries:
        client.get(week)
    assert sum("scheduling_scheduledpost" in q["sql"] for q in queries.captured_queries) == 1


def test_it_lists_drafts_aside_and_marks_queued_and_series_posts(client, alice):
    user_set_timezone(user=alice, timezone_name="Europe/Paris")
    draft = draft_create(author=alice, text="an idea for later")
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("Europe/Paris"))
    queue_slots_replace(user=alice, slots=[{"weekday": tomorrow.weekday(), "time": "10:00"}, {"weekday": tomorrow.weekday(), "time": "11:00"}])
    queued = queued_post_create(author=alice, text="in the queue")
    # Daily at 15:30, two days on: never on a queue slot (10:00, 11:00), whatever the hour now.
    start = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("Europe/Paris")).replace(hour=15, minute=30, second=0, microsecond=0)
    series = series_create(author=alice, text="every day", start=start.replace(tzinfo=None).isoformat(),
                           timezone_name="Europe/Paris", rrule_text="FREQ=DAILY;COUNT=30")
    occurrence = ScheduledPost.objects.filter(series=series).order_by("series_index").first()
    client.force_login(alice)
    page = client.get(f"/calendar/?view=month&date={queued.publish_at:%Y-%m-%d}").content.decode()
    aside = page[page.index('class="cal-drafts'):]
    assert f'id="cal-post-{draft.id}"' in aside and "an idea for later" in aside
    assert f'href="/scheduled/{draft.id}/edit/"' in aside
    assert "pending · queued" in chip_of(page, queued.id)
    page = client.get(f"/calendar/?view=month&date={occurrence.publish_at:%Y-%m-%d}").content.decode()
    assert f"series {series.id}, 1st occurrence" in chip_of(page, occurrence.id)
    # The other slot of that day is free: an empty placeholder. The taken one is not.
    week = client.get(f"/calendar/?date={queued.publish_at:%Y-%m-%d}").content.decode()
    free = [slot for slot in ("10:00", "11:00") if f"{slot}</time> free queue slot</a>" in week]
    assert len(free) == 1 and f'{queued.publish_at.astimezone(ZoneInfo("Europe/Paris")):%H:%M}' not in free


def test_it_shows_series_occurrences_not_made_yet(client, alice, settings):
    settings.PSCHED_SERIES_AHEAD_SECONDS = 3600
    start = (timezone.now() + timedelta(days=14)).replace(hour=9, minute=0, second=0, microsecond=0)
    series = series_create(author=alice, text="weekly news", start=start.replace(tzinfo=None).isoformat(),
                           timezone_name="UTC", rrule_text="FREQ=WEEKLY;COUNT=4")
    assert not ScheduledPost.objects.filter(series=series).exists()
    client.force_login(alice)
    page = client.get(f"/calendar/?date={start:%Y-%m-%d}").content.decode()
    assert f"series {series.id}, 1st occurrence · made nearer the time" in page
    assert f'<a href="/scheduled/series/{series.id}/edit/">' in page
    assert 'class="cal-slot cal-upcoming"' in page and "weekly news" in page


def test_it_puts_a_crowded_hour_behind_a_link_to_the_day_that_shows_them_all(client, alice):
    first = schedule(alice, text="crowd 0", hours=30)
    for i in range(1, 7):
        scheduled_post_create(author=alice, text=f"crowd {i}", publish_at=(first.publish_at + timedelta(seconds=i)).isoformat())
    client.force_login(alice)
    day = f"{first.publish_at:%Y-%m-%d}"
    week = client.get(f"/calendar/?date={day}").content.decode()
    assert week.count('class="cal-post ') == 4
    assert f'<a href="?view=day&amp;date={day}">+3 more</a>' in week
    page = client.get(f"/calendar/?view=day&date={day}").content.decode()
    assert page.count('class="cal-post ') == 7 and "more</a>" not in page
