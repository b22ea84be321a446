"""The API of the queue and of series: one view per operation (psched/api_urls.py joins the
views of one URL). Views parse, call one service, and build the output with the plain
functions of output.py; service errors become HTTP answers in psched.lib.api.exception_handler."""
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from psched.lib.api import StrictCharField
from psched.lib.db import request_now

from .forms import api_extras
from .occurrences import occurrence_restore, occurrence_skip, occurrence_update, occurrences_update_following
from .output import (
    QueueSlotSerializer,
    QueueSlotsOutputSerializer,
    ScheduledPostOutputSerializer,
    ScheduledPostWrittenSerializer,
    SeriesOutputSerializer,
    SeriesWrittenSerializer,
    queue_slots_serialize,
    scheduled_post_serialize,
    scheduled_post_written,
    scheduled_posts_serialize,
    series_list_serialize,
    series_serialize,
    series_written,
)
from .queue import MAX_SLOTS, queue_move, queue_posts, queue_share_now, queue_slots, queue_slots_replace
from .selectors import scheduled_post_get_own, series_get_own, series_visible
from .series import series_create, series_stop, series_update
from .throttling import admit_for

# --- the queue ------------------------------------------------------------------------------


class QueueSlotsListApi(APIView):
    """Your weekly posting slots, in your zone."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=QueueSlotsOutputSerializer)
    def get(self, request):
        return Response(queue_slots_serialize(user=request.user, slots=queue_slots(user=request.user)))


class QueueSlotsReplaceApi(APIView):
    """Replaces your weekly posting slots (a JSON list of `{"weekday", "time"}`) and re-places
    your queued posts that are not claimed yet."""

    permission_classes = [permissions.IsAuthenticated]

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
        scheduled_post_get_own(user=request.user, scheduled_post_id=pk, verb="move")
        post = queue_move(user=request.user, scheduled_post_id=pk, direction=data.validated_data["direction"])
        return Response(scheduled_post_serialize(post))


class QueueShareNowApi(APIView):
    """Publishes a queued post as soon as possible."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=ScheduledPostOutputSerializer)
    def post(self, request, pk):
        scheduled_post_get_own(user=request.user, scheduled_post_id=pk, verb="share")
        post = queue_share_now(user=request.user, scheduled_post_id=pk, now=request_now(request))
        return Response(scheduled_post_serialize(post))


# --- series ---------------------------------------------------------------------------------

class SeriesInputSerializer(serializers.Serializer):
    # Strings: the service parses the time, the zone and the rule and says what is wrong.
    text = StrictCharField(trim_whitespace=False, allow_blank=True)
    start = StrictCharField(help_text="Local date-time without offset, e.g. 2031-07-01T09:00.")
    timezone = StrictCharField(help_text="IANA zone, e.g. Europe/Paris.")
    rrule = StrictCharField(help_text="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10.")
    destinations = serializers.ListField(
        child=serializers.IntegerField(), required=False,
        help_text="Your destinations' ids besides the feed (always included), for every occurrence; "
                  "default: your default set.",
    )


class SeriesUpdateSerializer(serializers.Serializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True, required=False)
    start = StrictCharField(required=False)
    timezone = StrictCharField(required=False)
    rrule = StrictCharField(required=False)
    destinations = serializers.ListField(
        child=serializers.IntegerField(), required=False,
        help_text="Your destinations' ids besides the feed: replaces the series' choice, for the occurrences "
                  "not yet published and those it makes later.",
    )


def _object_body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ParseError("Send a JSON object.")
    return request.data


class SeriesListApi(APIView):
    """Your recurring posts (staff: everyone's), newest first."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=SeriesOutputSerializer(many=True))
    def get(self, request):
        found = series_visible(user=request.user).order_by("-pk")[:500]
        return Response(series_list_serialize(found, now=request_now(request)))


class SeriesCreateApi(APIView):
    """A recurring post: `{"text", "start" (local), "timezone", "rrule", "destinations"?}` → 201
    with the next occurrences."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=SeriesInputSerializer, responses={201: SeriesWrittenSerializer})
    def post(self, request):
        data = SeriesInputSerializer(data=_object_body(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        now = request_now(request)
        series = series_create(
            author=request.user, text=values["text"], start=values["start"],
            timezone_name=values["timezone"], rrule_text=values["rrule"], admit=admit_for(request), now=now,
            extras=api_extras(values),
        )
        output = series_written(series_visible(user=request.user).get(pk=series.pk), now=now)
        return Response(output, status=status.HTTP_201_CREATED)


class SeriesDetailApi(APIView):
    """One series."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=SeriesOutputSerializer)
    def get(self, request, pk):
        return Response(series_serialize(series_visible(user=request.user).get(pk=pk), now=request_now(request)))


class SeriesUpdateApi(APIView):
    """Changes a series' text, start, timezone, rrule or destinations: applies to occurrences not
    yet published."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=SeriesUpdateSerializer, responses=SeriesWrittenSerializer)
    def patch(self, request, pk):
        series_get_own(user=request.user, series_id=pk)
        data = SeriesUpdateSerializer(data=_object_body(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not values:
            raise serializers.ValidationError({"non_field_errors": [
                "Send text, start, timezone, rrule and/or destinations to change."
            ]})
        now = request_now(request)
        series_update(
            series_id=pk, author=request.user, text=values.get("text"), start=values.get("start"),
            timezone_name=values.get("timezone"), rrule_text=values.get("rrule"), admit=admit_for(request), now=now,
            extras=api_extras(values),
        )
        return Response(series_written(series_visible(user=request.user).get(pk=pk), now=now))


class SeriesStopApi(APIView):
    """Stops a series and cancels its occurrences not yet published."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        series_get_own(user=request.user, series_id=pk)
        series_stop(series_id=pk, author=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- one occurrence of a series ---------------------------------------------------------------

class OccurrenceUpdateSerializer(serializers.Serializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True, required=False)
    publish_at = StrictCharField(required=False, help_text="ISO 8601 with an offset, or a local time read in timezone "
                                                           "(default: the series' zone).")
    timezone = StrictCharField(required=False)
    scope = serializers.ChoiceField(choices=["this", "following"], default="this",
                                    help_text='"this": only this occurrence; "following": this and the following ones.')


class SeriesOccurrenceUpdateApi(APIView):
    """One occurrence of a series, by its index (1-based along the rule): `{"text"?,
    "publish_at"?, "timezone"?, "scope": "this"|"following"}`. "this" makes it a post of its
    own (answers the post); "following" ends the series before it and starts a new series
    there with the change (answers the new series)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=OccurrenceUpdateSerializer, responses=ScheduledPostWrittenSerializer)
    def patch(self, request, pk, index):
        series_get_own(user=request.user, series_id=pk)
        data = OccurrenceUpdateSerializer(data=_object_body(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        changes = {"text": values.get("text"), "publish_at": values.get("publish_at"), "timezone_name": values.get("timezone")}
        now = request_now(request)
        if values["scope"] == "following":
            continuing = occurrences_update_following(series_id=pk, index=index, author=request.user, now=now, **changes)
            return Response(series_written(series_visible(user=request.user).get(pk=continuing.pk), now=now))
        post = occurrence_update(series_id=pk, index=index, author=request.user, now=now, **changes)
        return Response(scheduled_post_written(post))


class SeriesOccurrenceSkipApi(APIView):
    """Skips one occurrence of a series (its pending post is cancelled)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, pk, index):
        series_get_own(user=request.user, series_id=pk)
        occurrence_skip(series_id=pk, index=index, author=request.user, now=request_now(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SeriesOccurrenceRestoreApi(APIView):
    """Restores a skipped occurrence while it is still ahead; answers the series."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=SeriesOutputSerializer)
    def post(self, request, pk, index):
        series_get_own(user=request.user, series_id=pk)
        now = request_now(request)
        occurrence_restore(series_id=pk, index=index, author=request.user, now=now)
        return Response(series_serialize(series_visible(user=request.user).get(pk=pk), now=now))
