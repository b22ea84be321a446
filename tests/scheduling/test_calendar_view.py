from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import user_set_timezone
from scheduling.models import ScheduledPost
from scheduling.services import scheduled_post_cancel, scheduled_post_create


def schedule(author, text="later", hours=30, zone="UTC"):
    when = (timezone.now() + timedelta(hours=hours)).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")
    return scheduled_post_create(author=author, text=text, publish_at=when, timezone_name=zone)


def week_of(post, zone="UTC"):
    return f"/calendar/?view=week&date={post.publish_at.astimezone(ZoneInfo(zone)):%Y-%m-%d}"


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
    assert f'<time class="cal-time" datetime="{post.publish_at.isoformat()}" title="{local:%Y-%m-%d %H:%M:%S} JST">{local:%H:%M}</time>' in page
    assert "plan &lt;b&gt;this&lt;/b&gt;" in page and "<b>this" not in page
    assert "bob" not in page
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
    chip = page[page.index(f'id="cal-post-{row.id}"'):]
    assert "420 ms late · node n1" in chip[:chip.index("</li>")]
    assert "Failed: main side answered 503" in client.get(week_of(failed)).content.decode()


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


def test_it_answers_a_bad_date_or_view_with_400_naming_the_field(client, alice):
    client.force_login(alice)
    response = client.get("/calendar/?date=2031-02-30")
    assert response.status_code == 400 and "date: &#x27;2031-02-30&#x27; is not a date" in response.content.decode()
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
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


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
