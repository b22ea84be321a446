"""Series and the queue on the real stack (gunicorn, two run_dispatcher workers, beat, MariaDB,
Redis): occurrences and slots become ordinary scheduled posts and are published once, on time
and in order."""
import email.utils
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from stack import wait_for

pytestmark = pytest.mark.integration
# Seconds-apart series need the minimum interval lowered.
PLANNING_ENV = {"PSCHED_SERIES_MIN_SECONDS": "1"}


def local_utc(seconds_from_now: float) -> str:
    """A naive local time in UTC, to the second."""
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)).replace(tzinfo=None, microsecond=0).isoformat()


def series_rows(stack, series_id):
    return stack.query(
        "SELECT s.id, s.series_index, s.status, s.publish_at, s.lateness_ms, COUNT(p.id) FROM scheduling_scheduledpost s "
        "LEFT JOIN feed_post p ON p.scheduled_post_id = s.id WHERE s.series_id = %s GROUP BY s.id ORDER BY s.series_index",
        (series_id,),
    )


def test_a_series_every_two_seconds_publishes_each_occurrence_once_on_time(stack_factory):
    stack = stack_factory(env=PLANNING_ENV).start()
    status, body = stack.request("POST", "/api/series/", {
        "text": "every two seconds", "start": local_utc(10), "timezone": "UTC", "rrule": "FREQ=SECONDLY;INTERVAL=2;COUNT=5",
    })
    assert status == 201, body
    assert [o["index"] for o in body["next"]] == [1, 2, 3, 4, 5], "the request took longer than the lead time"
    stack.wait_settled(5, timeout=60)
    rows = series_rows(stack, body["id"])
    assert [(index, state, feed_posts) for _, index, state, _, _, feed_posts in rows] == [
        (n, "published", 1) for n in range(1, 6)
    ]
    instants = [publish_at for _, _, _, publish_at, _, _ in rows]
    assert all(later - earlier == timedelta(seconds=2) for earlier, later in zip(instants, instants[1:]))
    lateness = [late for _, _, _, _, late, _ in rows]
    # On time: each goes out within a couple of ticks of its instant, never before it.
    assert all(0 <= late < 2500 for late in lateness), lateness
    (feed_total,) = stack.query("SELECT COUNT(*) FROM feed_post")[0]
    assert feed_total == 5


def test_stopping_a_series_cancels_the_occurrences_not_yet_published(stack_factory):
    stack = stack_factory(env=PLANNING_ENV).start()
    status, body = stack.request("POST", "/api/series/", {
        "text": "until stopped", "start": local_utc(10), "timezone": "UTC", "rrule": "FREQ=SECONDLY;INTERVAL=2;COUNT=10",
    })
    assert status == 201, body
    # Occurrences due before the series existed are not made (a slow request may pass one).
    first_index = body["next"][0]["index"]
    last_due = datetime.fromisoformat(body["next"][0]["publish_at"]) + timedelta(seconds=2 * (10 - first_index))
    wait_for(lambda: stack.status_counts().get("published", 0) >= 2, 40, what="two occurrences published")
    status, _ = stack.request("DELETE", f"/api/series/{body['id']}/")
    assert status == 204
    # Wait until the last occurrence would have been due, and a little after: nothing more goes out.
    wait_for(lambda: datetime.now(timezone.utc) > last_due + timedelta(seconds=3), 60, what="the series' last instant")
    stack.wait_settled(2, timeout=30)
    rows = series_rows(stack, body["id"])
    published = [row for row in rows if row[2] == "published"]
    cancelled = [row for row in rows if row[2] == "cancelled"]
    assert [row[1] for row in rows] == list(range(first_index, 11)), rows
    assert len(published) + len(cancelled) == len(rows) and len(cancelled) >= 1, rows
    assert all(feed_posts == 1 for *_, feed_posts in published)
    assert all(feed_posts == 0 for *_, feed_posts in cancelled)
    (feed_total,) = stack.query("SELECT COUNT(*) FROM feed_post")[0]
    assert feed_total == len(published)
    status, detail = stack.request("GET", f"/api/series/{body['id']}/")
    assert detail["active"] is False and detail["next"] == []


def web_clock_ahead(stack) -> timedelta:
    """How far the web server's clock is ahead of the database's, from its Date header (to the second)."""
    with urllib.request.urlopen(f"{stack.url}/api/", timeout=10) as response:
        web_now = email.utils.parsedate_to_datetime(response.headers["Date"])
    return web_now - stack.db_now()


def test_a_queue_with_slots_seconds_apart_publishes_in_slot_order(stack_factory):
    # The web server's clock runs a minute ahead of the database's (gunicorn under libfaketime;
    # the nodes and beat keep the true clock): slots seconds away, in the web host's past, are
    # still taken, and "Share now" publishes at once. The planning code asks the database clock.
    stack = stack_factory(env=PLANNING_ENV, web_clock="+60s").start()
    assert web_clock_ahead(stack) > timedelta(seconds=55), "gunicorn's clock is not ahead: the scenario proves nothing"
    base = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=15)
    slots = [base + timedelta(seconds=3 * n) for n in range(3)]  # the user's zone is UTC
    status, body = stack.request("PUT", "/api/queue/slots/", [
        {"weekday": slot.weekday(), "time": slot.strftime("%H:%M:%S")} for slot in reversed(slots)
    ])
    assert status == 200, body
    created = []
    for text in ("queued first", "queued second", "queued third", "shared now"):
        status, post = stack.request("POST", "/api/scheduled-posts/", {"text": text, "queue": True})
        assert status == 201, post
        created.append(post)
    asked = stack.db_now()
    status, shared = stack.request("POST", f"/api/queue/{created[3]['id']}/share-now/")
    answered = stack.db_now()
    assert status == 200, shared
    assert datetime.now(timezone.utc) < slots[0], "queueing took longer than the first slot; the scenario proves nothing"
    assert [datetime.fromisoformat(post["publish_at"]) for post in created[:3]] == slots
    # Due at the database clock's now while the request ran, not the web host's (a minute later).
    assert asked - timedelta(seconds=1) <= datetime.fromisoformat(shared["publish_at"]) <= answered, (asked, shared, answered)
    status, queue = stack.request("GET", "/api/queue/")
    assert [post["text"] for post in queue if post["queued"]] == ["queued first", "queued second", "queued third"]
    stack.wait_settled(4, timeout=60)
    feed = stack.query("SELECT text, scheduled_for, published_at FROM feed_post ORDER BY id")
    (shared_published_at,) = [published_at for text, _, published_at in feed if text == "shared now"]
    assert shared_published_at.replace(tzinfo=timezone.utc) - answered < timedelta(seconds=10)  # at once, not in a minute
    feed = [row for row in feed if row[0] != "shared now"]
    assert [text for text, _, _ in feed] == ["queued first", "queued second", "queued third"]
    published = [published_at for _, _, published_at in feed]
    assert published == sorted(published)
    assert all(published_at >= scheduled_for for _, scheduled_for, published_at in feed)
