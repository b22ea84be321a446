"""What the scheduling API answers: plain functions that build each answer
(`scheduled_post_serialize`, `series_serialize`, …), fast enough for bulk answers, and beside
each the declared serializer that describes it in the OpenAPI schema.
tests/scheduling/test_serialize.py checks that both give the same fields and values."""
from datetime import datetime

from rest_framework import serializers

from psched.lib.api import StrictCharField, datetime_text

from .clashes import post_clash_warnings, series_clash_warnings
from .models import ScheduledPost, Series
from .queue import queue_zone, slot_time_parse
from .recurrence import Occurrence, series_next
from .signals import scheduled_posts_serializing, series_serializing

# --- scheduled posts ------------------------------------------------------------------------

def scheduled_posts_extensions(posts: list[ScheduledPost]) -> dict[int, dict]:
    """What the apps above add to each post's output ({id: {"destinations": [...],
    "deliveries": [...]}}), asked once for all the posts of an answer. The pages also find
    "delivery_rows" there (destinations: Delivery objects with their destination)."""
    merged = {post.pk: {"destinations": [], "deliveries": []} for post in posts}
    if posts:
        for _, answer in scheduled_posts_serializing.send(sender=ScheduledPost, scheduled_posts=posts):
            for pk, fields in (answer or {}).items():
                merged.setdefault(pk, {}).update(fields)
    return merged


def scheduled_posts_serialize(posts, *, detail: bool = False) -> list[dict]:
    posts = list(posts)
    extensions = scheduled_posts_extensions(posts)
    return [scheduled_post_serialize(post, detail=detail, extension=extensions[post.pk]) for post in posts]


def scheduled_post_serialize(post: ScheduledPost, *, detail: bool = False, extension: dict | None = None) -> dict:
    """A ScheduledPost as the API answers it: ScheduledPostOutputSerializer's fields, built by
    hand because one request creates up to PSCHED_MAX_BULK of them. last_error as recorded only
    with detail (staff); authors get a plain reason (ScheduledPost.public_error). `extension`:
    the post's entry of scheduled_posts_extensions (asked for when not given)."""
    if extension is None:
        extension = scheduled_posts_extensions([post])[post.pk]
    return {
        "id": post.pk,
        "author": post.author.username,
        "text": post.text,
        "publish_at": datetime_text(post.publish_at),
        "timezone": post.timezone,
        "status": post.status,
        "dispatcher": post.dispatcher.name if post.dispatcher_id else None,
        "attempts": post.attempts,
        "last_error": post.last_error if detail else post.public_error,
        # Only published posts have one: asking the others would cost a query each.
        "post": post.post.pk if post.status == ScheduledPost.Status.PUBLISHED and hasattr(post, "post") else None,
        "published_at": datetime_text(post.published_at),
        "lateness_ms": post.lateness_ms,
        "created_at": datetime_text(post.created_at),
        "updated_at": datetime_text(post.updated_at),
        "queued": post.queued,
        "series": post.series_id,
        "series_index": post.series_index,
        "destinations": extension["destinations"],
        "deliveries": extension["deliveries"],
    }


class ScheduledPostOutputSerializer(serializers.ModelSerializer):
    # The schema of scheduled_post_serialize; tests/scheduling/test_serialize.py keeps both in step.

    author = serializers.CharField(source="author.username")
    dispatcher = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    post = serializers.IntegerField(source="post.pk", allow_null=True, read_only=True)
    series = serializers.IntegerField(source="series_id", allow_null=True, read_only=True)
    destinations = serializers.SerializerMethodField(help_text="Chosen destinations' ids besides the feed.")
    deliveries = serializers.SerializerMethodField(
        help_text="One per destination besides the feed, once published: "
                  "{id, destination, state, attempts, remote_id, delivered_at, error}."
    )

    class Meta:
        model = ScheduledPost
        fields = [
            "id", "author", "text", "publish_at", "timezone", "status", "dispatcher", "attempts",
            "last_error", "post", "published_at", "lateness_ms", "created_at", "updated_at",
            "queued", "series", "series_index", "destinations", "deliveries",
        ]

    def get_destinations(self, post) -> list[int]:
        return scheduled_posts_extensions([post])[post.pk]["destinations"]

    def get_deliveries(self, post) -> list[dict]:
        return scheduled_posts_extensions([post])[post.pk]["deliveries"]


class ClashWarningSerializer(serializers.Serializer):
    code = serializers.CharField(help_text='"clash".')
    message = serializers.CharField()
    kind = serializers.ChoiceField(choices=["post", "occurrence", "slot"], help_text="What it clashes with.")
    publish_at = serializers.DateTimeField(help_text="When the other one publishes.")
    scheduled_post = serializers.IntegerField(allow_null=True)
    series = serializers.IntegerField(allow_null=True)
    series_index = serializers.IntegerField(allow_null=True)


class ScheduledPostWrittenSerializer(ScheduledPostOutputSerializer):
    """The answer of a write: the post, and what it clashes with (scheduling still succeeded)."""

    # With `warnings` set to post_clash_warnings: the schema of scheduled_post_written.
    warnings = ClashWarningSerializer(many=True, read_only=True,
                                      help_text="Posts, series occurrences and free queue slots within PSCHED_CLASH_MINUTES.")

    class Meta(ScheduledPostOutputSerializer.Meta):
        fields = [*ScheduledPostOutputSerializer.Meta.fields, "warnings"]


def scheduled_post_written(post: ScheduledPost, *, detail: bool = False) -> dict:
    return {**scheduled_post_serialize(post, detail=detail), "warnings": post_clash_warnings(post)}


# --- the queue ------------------------------------------------------------------------------

def slot_time_text(at) -> str:
    """"09:30", or "09:30:15" when the slot has seconds."""
    return f"{at:%H:%M:%S}" if at.second else f"{at:%H:%M}"


class SlotTimeField(StrictCharField):
    def to_representation(self, value):
        return slot_time_text(value)


class QueueSlotSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 Monday … 6 Sunday.")
    time = SlotTimeField(help_text="HH:MM, or HH:MM:SS, in the user's zone.")

    def validate_time(self, value):
        slot_time_parse(value)  # a ValidationError names time, in this slot's entry
        return value


class QueueSlotsOutputSerializer(serializers.Serializer):
    # Of {"timezone", "slots": QueueSlot rows}: the schema of queue_slots_serialize.
    timezone = serializers.CharField(help_text="The zone the slots are read in (the profile's, else UTC).")
    slots = QueueSlotSerializer(many=True)


def queue_slot_serialize(slot) -> dict:
    return {"weekday": slot.weekday, "time": slot_time_text(slot.time)}


def queue_slots_serialize(*, user, slots) -> dict:
    return {"timezone": queue_zone(user=user), "slots": [queue_slot_serialize(slot) for slot in slots]}


# --- series ---------------------------------------------------------------------------------

class LocalTimeField(serializers.CharField):
    """A naive local date-time, written as ISO 8601 without an offset."""

    def to_representation(self, value):
        return value.isoformat()


class IndexesField(serializers.ListField):
    """Series.skipped or Series.detached ({"index", "local"} entries) as their sorted indexes."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.IntegerField(), **kwargs)

    def to_representation(self, value):
        return sorted(entry["index"] for entry in value)


class OccurrenceSerializer(serializers.Serializer):
    # Of an Occurrence: the schema of occurrence_serialize.
    index = serializers.IntegerField(help_text="1-based, counted along the rule.")
    publish_at = serializers.DateTimeField(source="instant", help_text="UTC instant.")
    local = LocalTimeField(help_text="Local wall-clock time in the series' zone.")


class SeriesOutputSerializer(serializers.Serializer):
    # Of a Series as series_visible() gives it (with its counts) and with `next` set to its
    # next occurrences: the schema of series_serialize.
    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    text = serializers.CharField()
    start = LocalTimeField(help_text="Local date-time, no offset.")
    timezone = serializers.CharField()
    rrule = serializers.CharField()
    active = serializers.BooleanField()
    error = serializers.CharField(help_text="Why no new occurrences are made (the rule could not be expanded); empty while it works.")
    total = serializers.IntegerField(allow_null=True, help_text="COUNT of the rule, when it has one.")
    published = serializers.IntegerField(source="published_count")
    pending = serializers.IntegerField(source="pending_count")
    next = OccurrenceSerializer(many=True)
    materialized_until = serializers.DateTimeField(allow_null=True)
    skipped = IndexesField(help_text="Indexes of skipped occurrences.")
    detached = IndexesField(help_text="Indexes of occurrences edited on their own (posts of their own now).")
    continues = serializers.IntegerField(source="continues_id", allow_null=True, help_text="The series this one continues, if any.")
    destinations = serializers.SerializerMethodField(
        help_text="The destinations' ids its occurrences go to besides the feed: its choice, else your default set.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_destinations(self, series) -> list[int]:
        return series_extensions([series])[series.pk]["destinations"]


def occurrence_serialize(occurrence: Occurrence) -> dict:
    return {
        "index": occurrence.index,
        "publish_at": datetime_text(occurrence.instant),
        "local": occurrence.local.isoformat(),
    }


def series_extensions(series: list[Series]) -> dict[int, dict]:
    """What the apps above keep for each series ({id: {"destinations": [...]}}), asked once
    for all the series of an answer or a page."""
    merged = {item.pk: {"destinations": []} for item in series}
    if series:
        for _, answer in series_serializing.send(sender=Series, series=series):
            for pk, fields in (answer or {}).items():
                merged.setdefault(pk, {}).update(fields)
    return merged


def series_list_serialize(series, *, now: datetime) -> list[dict]:
    series = list(series)
    extensions = series_extensions(series)
    return [series_serialize(item, now=now, extension=extensions[item.pk]) for item in series]


def series_serialize(series: Series, *, now: datetime, extension: dict | None = None) -> dict:
    """`series` as series_visible() gives it (with its counts); `next` after `now` (the
    request's request_now). `extension`: the series' entry of series_extensions (asked for
    when not given)."""
    if extension is None:
        extension = series_extensions([series])[series.pk]
    return {
        "id": series.pk,
        "author": series.author.username,
        "text": series.text,
        "start": series.start.isoformat(),
        "timezone": series.timezone,
        "rrule": series.rrule,
        "active": series.active,
        "error": series.error,
        "total": series.total,
        "published": series.published_count,
        "pending": series.pending_count,
        "next": [occurrence_serialize(o) for o in series_next(series=series, now=now)],
        "materialized_until": datetime_text(series.materialized_until),
        "skipped": sorted(entry["index"] for entry in series.skipped),
        "detached": sorted(entry["index"] for entry in series.detached),
        "continues": series.continues_id,
        "destinations": extension["destinations"],
        "created_at": datetime_text(series.created_at),
        "updated_at": datetime_text(series.updated_at),
    }


class OccurrenceClashWarningSerializer(ClashWarningSerializer):
    occurrence = serializers.IntegerField(help_text="The index of the series' occurrence that clashes.")


class SeriesWrittenSerializer(SeriesOutputSerializer):
    # With `warnings` set to series_clash_warnings: the schema of series_written.
    warnings = OccurrenceClashWarningSerializer(many=True, help_text="Clashes of the next occurrences.")


def series_written(series: Series, *, now) -> dict:
    """The answer of a write: the series, and what its next occurrences clash with."""
    output = series_serialize(series, now=now)
    occurrences = series_next(series=series, now=now)
    output["warnings"] = series_clash_warnings(series=series, occurrences=occurrences)
    return output
