"""The planning code decides by the database clock, not the web host's: each test moves this
process's clock (the web host's) 60 s ahead (host_clock_ahead), so a decision that asked the
host would be off by a minute."""
import re
from datetime import datetime, timedelta

import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from dispatchers.services import claim_due_posts
from psched.lib.db import db_now, request_now
from scheduling.models import ScheduledPost
from scheduling.queue import queue_slots_replace


@pytest.fixture
def host_ahead(host_clock_ahead):
    host_clock_ahead(60)


def _slot_at(instant: datetime) -> dict:
    return {"weekday": instant.weekday(), "time": f"{instant:%H:%M:%S}"}


def test_share_now_is_due_at_once_by_the_database_clock(api, alice, node, host_ahead):
    api(alice).put("/api/queue/slots/", [{"weekday": d, "time": "09:00"} for d in range(7)], format="json")
    pk = api(alice).post("/api/scheduled-posts/", {"text": "now please", "queue": True}, format="json").json()["id"]
    shared = api(alice).post(f"/api/queue/{pk}/share-now/")
    assert shared.status_code == 200
    publish_at = datetime.fromisoformat(shared.json()["publish_at"])
    assert abs(publish_at - db_now()) < timedelta(seconds=5)  # not the host's clock, 60 s ahead
    # The node's next tick claims it: due by the database clock now, not in a minute.
    now = db_now()
    assert [claim.scheduled_post for claim in claim_due_posts(node=node, now=now, horizon=now, limit=10)] == [pk]


def test_a_queued_post_takes_a_slot_the_host_clock_thinks_has_passed(api, alice, host_ahead):
    slot = (db_now() + timedelta(seconds=30)).replace(microsecond=0)  # UTC: alice has no zone
    assert api(alice).put("/api/queue/slots/", [_slot_at(slot)], format="json").status_code == 200
    queued = api(alice).post("/api/scheduled-posts/", {"text": "soon", "queue": True}, format="json")
    assert queued.status_code == 201
    assert datetime.fromisoformat(queued.json()["publish_at"]) == slot  # not the same slot a week later


def test_a_series_starting_within_the_skew_makes_its_first_occurrence(api, alice, host_ahead):
    start = (db_now() + timedelta(seconds=30)).replace(microsecond=0)
    created = api(alice).post("/api/series/", {
        "text": "daily", "start": start.replace(tzinfo=None).isoformat(), "timezone": "UTC", "rrule": "FREQ=DAILY;COUNT=3",
    }, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["next"][0]["index"] == 1  # by the host's clock it would have passed
    first = ScheduledPost.objects.get(series_id=created.json()["id"], series_index=1)
    assert first.publish_at == start


def test_duplicate_offers_the_time_while_it_is_ahead_by_the_database_clock(client, alice, host_ahead):
    publish_at = (db_now() + timedelta(seconds=30)).replace(microsecond=0)
    row = ScheduledPost.objects.create(
        author=alice, text="again", publish_at=publish_at, due_at=publish_at, timezone="UTC", status=ScheduledPost.Status.FAILED,
    )
    client.force_login(alice)
    page = client.get(f"/scheduled/{row.pk}/duplicate/").content.decode()
    assert re.search(rf'name="publish_at"[^>]*value="{publish_at:%Y-%m-%dT%H:%M:%S}"', page)


def test_request_now_is_read_once_per_request(db):
    http_request = RequestFactory().get("/")
    first = request_now(http_request)
    assert request_now(Request(http_request)) == first  # DRF's request sees the same instant
    assert request_now(http_request) is first
    assert request_now(RequestFactory().get("/")) is not first


def test_the_calendar_shows_a_free_slot_the_host_clock_thinks_has_passed(client, alice, host_ahead):
    slot = (db_now() + timedelta(seconds=30)).replace(microsecond=0)
    queue_slots_replace(user=alice, slots=[_slot_at(slot)])
    client.force_login(alice)
    page = client.get(f"/calendar/?view=day&date={slot:%Y-%m-%d}").content.decode()
    assert f'class="cal-slot" data-at="{slot.isoformat()}"' in page


def test_my_scheduled_posts_say_in_how_long_by_the_database_clock(client, alice, api, host_ahead):
    created = api(alice).post("/api/scheduled-posts/", {"text": "soon", "publish_at": (db_now() + timedelta(seconds=30)).isoformat()}, format="json")
    assert created.status_code == 201, created.json()  # "in the past" is judged by the database clock too
    client.force_login(alice)
    page = client.get("/scheduled/").content.decode()
    assert re.search(r'class="relative">in \d+ seconds<', page), "the page counted from the web host's clock"
