"""The API of the queue and of series: one view per operation. Views parse, call one
service, and build the output with plain functions; service errors become HTTP answers in
psched.lib.api.exception_handler."""
from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from psched.lib.api import StrictCharField, datetime_text
from psched.lib.db import request_now

from .api import ScheduledPostOutputSerializer, scheduled_post_serialize, scheduled_posts_serialize
from .models import ScheduledPost, Series
from .queue import MAX_SLOTS, queue_move, queue_posts, queue_share_now, queue_slots, queue_slots_replace, queue_zone, slot_time_parse
from .series import Occurrence, series_create, series_next, series_stop, series_update
from .throttling import admit_for

# --- the queue ------------------------------------------------------------------------------

class QueueSlotSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 Monday … 6 Sunday.")
    time = StrictCharField(help_text="HH:MM, or HH:MM:SS, in the user's zone.")

    def validate_time(self, value):
        slot_time_parse(value)  # a ValidationError names time, in this slot's entry
        return value


class QueueSlotsOutputSerializer(serializers.Serializer):
    timezone = serializers.CharField(help_text="The zone the slots are read in (the profile's, else UTC).")
    slots = QueueSlotSerializer(many=True)


def queue_slot_serialize(slot) -> dict:
    return {"weekday": slot.weekday, "time": f"{slot.time:%H:%M:%S}" if slot.time.second else f"{slot.time:%H:%M}"}


def queue_slots_serialize(*, user, slots) -> dict:
    return {"timezone": queue_zone(user=user), "slots": [queue_slot_serialize(slot) for slot in slots]}


class QueueSlotsApi(APIView):
    """Your weekly posting slots, in your zone. PUT replaces them (a JSON list of
    `{"weekday", "time"}`) and re-places your queued posts that are not claimed yet."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=QueueSlotsOutputSerializer)
    def get(self, request):
        return Response(queue_slots_serialize(user=request.user, slots=queue_slots(user=request.user)))

    @extend_schema(request=QueueSlotSerializer(many=True), responses=QueueSlotsOutputSerializer)
    def put(self, request):
        if not isinstance(request.data, list):
            raise ParseError('Send a JSON list of slots, e.g. [{"weekday": 0, "time": "09:00"}].')
        if len(request.data) > MAX_SLOTS:  # before any item is looked at
            raise serializers.ValidationError({"slots": [f"At most {MAX_SLOTS} slots a week; this has {len(request.data)}."]})
        # One entry per slot in a 400, {} for the good ones (like a bulk schedule).
        checked = [QueueSlotSerializer(data=item) for item in request.data]
        errors = [{} if slot.is_valid() else slot.errors for slot in checked]
        if any(errors):
            raise serializers.ValidationError(errors)
        slots = queue_slots_replace(user=request.user, slots=request.data, now=request_now(request))
        return Response(queue_slots_serialize(user=request.user, slots=slots))


class QueueListApi(APIView):
    """Your queued posts still to be published, in slot order."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ScheduledPostOutputSerializer(many=True))
    def get(self, request):
        return Response(scheduled_posts_serialize(queue_posts(user=request.user)[:1000]))


class QueueMoveInputSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down"])


class QueueMoveApi(APIView):
    """Swaps a queued post's slot with the previous (`up`) or next (`down`) one."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=QueueMoveInputSerializer, responses=ScheduledPostOutputSerializer)
    def post(self, request, pk):
        data = QueueMoveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _own_post(request, pk)
        post = queue_move(user=request.user, scheduled_post_id=pk, direction=data.validated_data["direction"])
        return Response(scheduled_post_serialize(post))


class QueueShareNowApi(APIView):
    """Publishes a queued post as soon as possible."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=ScheduledPostOutputSerializer)
    def post(self, request, pk):
        _own_post(request, pk)
        post = queue_share_now(user=request.user, scheduled_post_id=pk, now=request_now(request))
        return Response(scheduled_post_serialize(post))


def _own_post(request, pk) -> None:
    if not ScheduledPost.objects.filter(pk=pk, author=request.user).exists():
        raise NotFound("No such scheduled post.")


# --- series ---------------------------------------------------------------------------------

class OccurrenceSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="1-based, counted along the rule.")
    publish_at = serializers.DateTimeField(help_text="UTC instant.")
    local = serializers.CharField(help_text="Local wall-clock time in the series' zone.")


class SeriesOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField()
    text = serializers.CharField()
    start = serializers.CharField(help_text="Local date-time, no offset.")
    timezone = serializers.CharField()
    rrule = serializers.CharField()
    active = serializers.BooleanField()
    error = serializers.CharField(help_text="Why no new occurrences are made (the rule could not be expanded); empty while it works.")
    total = serializers.IntegerField(allow_null=True, help_text="COUNT of the rule, when it has one.")
    published = serializers.IntegerField()
    pending = serializers.IntegerField()
    next = OccurrenceSerializer(many=True)
    materialized_until = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def occurrence_serialize(occurrence: Occurrence) -> dict:
    return {
        "index": occurrence.index,
        "publish_at": datetime_text(occurrence.instant),
        "local": occurrence.local.isoformat(),
    }


def series_serialize(series: Series, *, now=None) -> dict:
    """`series` as series_visible() gives it (with its counts); `next` after `now` (the
    request's request_now)."""
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
        "created_at": datetime_text(series.created_at),
        "updated_at": datetime_text(series.updated_at),
    }


def series_visible(*, user):
    """Your series; staff see everyone's. With their published and pending counts."""
    found = Series.objects.select_related("author").annotate(
        published_count=Count("occurrences", filter=Q(occurrences__status=ScheduledPost.Status.PUBLISHED)),
        pending_count=Count("occurrences", filter=Q(occurrences__status__in=ScheduledPost.UPCOMING)),
    )
    return found if user.is_staff else found.filter(author=user)


class SeriesInputSerializer(serializers.Serializer):
    # Strings: the service parses the time, the zone and the rule and says what is wrong.
    text = StrictCharField(trim_whitespace=False, allow_blank=True)
    start = StrictCharField(help_text="Local date-time without offset, e.g. 2031-07-01T09:00.")
    timezone = StrictCharField(help_text="IANA zone, e.g. Europe/Paris.")
    rrule = StrictCharField(help_text="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10.")


class SeriesUpdateSerializer(serializers.Serializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True, required=False)
    start = StrictCharField(required=False)
    timezone = StrictCharField(required=False)
    rrule = StrictCharField(required=False)


def _object_body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ParseError("Send a JSON object.")
    return request.data


class SeriesListApi(APIView):
    """Recurring posts. POST `{"text", "start" (local), "timezone", "rrule"}` → 201 with the
    next occurrences; GET lists your series."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=SeriesOutputSerializer(many=True))
    def get(self, request):
        found = series_visible(user=request.user).order_by("-pk")[:500]
        now = request_now(request)
        return Response([series_serialize(series, now=now) for series in found])

    @extend_schema(request=SeriesInputSerializer, responses={201: SeriesOutputSerializer})
    def post(self, request):
        data = SeriesInputSerializer(data=_object_body(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        series = series_create(
            author=request.user, text=values["text"], start=values["start"],
            timezone_name=values["timezone"], rrule_text=values["rrule"], admit=admit_for(request), now=request_now(request),
        )
        output = series_serialize(series_visible(user=request.user).get(pk=series.pk), now=request_now(request))
        return Response(output, status=status.HTTP_201_CREATED)


class SeriesDetailApi(APIView):
    """One series. PATCH text, start, timezone or rrule: applies to occurrences not yet
    published. DELETE stops it and cancels its pending occurrences."""

    permission_classes = [permissions.IsAuthenticated]

    def _get(self, request, pk) -> Series:
        try:
            return series_visible(user=request.user).get(pk=pk)
        except Series.DoesNotExist:
            raise NotFound("No such series.") from None

    def _own(self, request, pk) -> Series:
        series = self._get(request, pk)
        if series.author_id != request.user.pk:
            raise PermissionDenied("Only the author can change a series.")
        return series

    @extend_schema(responses=SeriesOutputSerializer)
    def get(self, request, pk):
        return Response(series_serialize(self._get(request, pk), now=request_now(request)))

    @extend_schema(request=SeriesUpdateSerializer, responses=SeriesOutputSerializer)
    def patch(self, request, pk):
        self._own(request, pk)
        data = SeriesUpdateSerializer(data=_object_body(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not values:
            raise serializers.ValidationError({"non_field_errors": ["Send text, start, timezone and/or rrule to change."]})
        series_update(
            series_id=pk, author=request.user, text=values.get("text"), start=values.get("start"),
            timezone_name=values.get("timezone"), rrule_text=values.get("rrule"), admit=admit_for(request),
            now=request_now(request),
        )
        return Response(series_serialize(self._get(request, pk), now=request_now(request)))

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        self._own(request, pk)
        series_stop(series_id=pk, author=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
