"""Each output function gives exactly its declared serializer's fields and values (the
serializer describes the answer in the OpenAPI schema; the function builds it)."""
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from psched.lib.db import db_now
from scheduling.clashes import post_clash_warnings, series_clash_warnings
from scheduling.occurrences import occurrence_skip
from scheduling.output import (
    OccurrenceSerializer,
    QueueSlotsOutputSerializer,
    ScheduledPostOutputSerializer,
    ScheduledPostWrittenSerializer,
    SeriesOutputSerializer,
    SeriesWrittenSerializer,
    occurrence_serialize,
    queue_slots_serialize,
    scheduled_post_serialize,
    scheduled_post_written,
    series_serialize,
    series_written,
)
from scheduling.queue import queue_slots, queue_slots_replace, queue_zone
from scheduling.recurrence import series_next
from scheduling.selectors import series_visible
from scheduling.series import series_create
from scheduling.services import scheduled_post_create


def test_it_gives_the_declared_fields_of_a_pending_post(alice, node):
    post = scheduled_post_create(author=alice, text="later", publish_at=timezone.now() + timedelta(hours=1))
    post.refresh_from_db()
    assert scheduled_post_serialize(post) == ScheduledPostOutputSerializer(post).data
    assert scheduled_post_serialize(post)["post"] is None


def test_it_gives_the_declared_fields_of_a_published_post(alice, published):
    post = published(alice)
    assert scheduled_post_serialize(post) == ScheduledPostOutputSerializer(post).data
    assert scheduled_post_serialize(post)["post"] == post.post.pk


def test_it_gives_the_declared_fields_of_a_written_post_and_its_clash_warnings(alice, node):
    at = timezone.now() + timedelta(hours=1)
    scheduled_post_create(author=alice, text="first", publish_at=at)
    post = scheduled_post_create(author=alice, text="second", publish_at=at + timedelta(minutes=1))
    post.refresh_from_db()
    written = scheduled_post_written(post)
    assert written["warnings"], "a post a minute from another clashes"
    post.warnings = post_clash_warnings(post)
    assert written == ScheduledPostWrittenSerializer(post).data


def test_it_gives_the_declared_fields_of_the_queue_slots(alice):
    queue_slots_replace(user=alice, slots=[{"weekday": 0, "time": "09:00"}, {"weekday": 2, "time": "17:30:15"}])
    slots = queue_slots(user=alice)
    output = queue_slots_serialize(user=alice, slots=slots)
    assert [slot["time"] for slot in output["slots"]] == ["09:00", "17:30:15"]
    assert output == QueueSlotsOutputSerializer({"timezone": queue_zone(user=alice), "slots": slots}).data


def _series(alice, rrule="FREQ=DAILY;COUNT=10"):
    start = (timezone.now().astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0, tzinfo=None)
    return series_create(author=alice, text="daily", start=start, timezone_name="Europe/Paris", rrule_text=rrule)


def test_it_gives_the_declared_fields_of_a_series_and_its_occurrences(alice, node):
    made = _series(alice)
    now = db_now()
    occurrence_skip(series_id=made.pk, index=3, author=alice, now=now)
    series = series_visible(user=alice).get(pk=made.pk)
    output = series_serialize(series, now=now)
    assert output["skipped"] == [3] and output["next"] and output["published"] == 0 and output["pending"] > 0
    series.next = series_next(series=series, now=now)
    assert output == SeriesOutputSerializer(series).data
    occurrence = series.next[0]
    assert occurrence_serialize(occurrence) == OccurrenceSerializer(occurrence).data


def test_it_gives_the_declared_fields_of_a_written_series_and_its_clash_warnings(alice, node):
    first = _series(alice)
    now = db_now()
    series = series_visible(user=alice).get(pk=_series(alice, rrule="FREQ=DAILY;COUNT=5").pk)
    written = series_written(series, now=now)
    assert written["warnings"] and written["warnings"][0]["occurrence"], f"its occurrences meet those of #{first.pk}"
    series.next = series_next(series=series, now=now)
    series.warnings = series_clash_warnings(series=series, occurrences=series.next)
    assert written == SeriesWrittenSerializer(series).data
