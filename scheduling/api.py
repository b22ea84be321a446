"""The API of scheduled posts: one view per operation. Views parse, call one service, and
build the output with the plain functions of output.py; service errors become HTTP answers
in psched.lib.api.exception_handler. psched/api_urls.py joins the views of one URL."""
from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from psched.lib.api import StrictCharField, one_or_many
from psched.lib.db import request_now
from psched.lib.pagination import NewestFirstPagination, PublishAtPagination

from .clashes import posts_clash_warnings
from .forms import api_extras
from .models import ScheduledPost
from .output import (
    ScheduledPostOutputSerializer,
    ScheduledPostWrittenSerializer,
    scheduled_post_serialize,
    scheduled_post_written,
    scheduled_posts_serialize,
)
from .queue import queued_post_create, scheduled_post_enqueue
from .rules import schedule_input_clean
from .selectors import scheduled_post_get_own, scheduled_posts_visible
from .services import draft_create, scheduled_post_cancel, scheduled_post_retry, scheduled_post_update, scheduled_posts_create
from .throttling import PostCountThrottle


class ScheduledPostListApi(generics.ListAPIView):
    """Your scheduled posts by publish_at; `?status=`, staff `?author=`."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ScheduledPostOutputSerializer
    pagination_class = PublishAtPagination

    @property
    def paginator(self):
        # Drafts have no publish_at to page by: newest first instead.
        if not hasattr(self, "_paginator"):
            drafts = self.request.query_params.get("status") == ScheduledPost.Status.DRAFT
            self._paginator = NewestFirstPagination() if drafts else PublishAtPagination()
        return self._paginator

    def get_queryset(self):
        status_filter = self.request.query_params.get("status")
        if status_filter and status_filter not in ScheduledPost.Status.values:
            raise serializers.ValidationError({"status": [f"Use one of: {', '.join(ScheduledPost.Status.values)}."]})
        posts = scheduled_posts_visible(
            user=self.request.user, author_username=self.request.query_params.get("author"), status=status_filter
        )
        # Drafts (no time) only with ?status=draft: the list is ordered by publish_at.
        return posts if status_filter else posts.exclude(status=ScheduledPost.Status.DRAFT)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(scheduled_posts_serialize(page, detail=request.user.is_staff))


class ScheduledPostCreateApi(APIView):
    """Schedule a post (`{"text", "publish_at", "timezone"?, "destinations"?}`) or a list of up
    to PSCHED_MAX_BULK, all or nothing. `{"text", "draft": true, "destinations"?}` keeps a
    draft, with the destinations it will be sent to (default: your default set as it is now);
    `{"text", "queue": true, "destinations"?}` takes your next free queue slot."""

    # A body with "draft" or "queue" is served by DraftCreateApi or QueuedPostCreateApi
    # (psched/api_urls.py joins them); this view documents the URL.

    class ScheduleInputSerializer(serializers.Serializer):
        # Strings on purpose: the service parses times and zones and explains what is wrong.
        # It documents the body; post() hands each item to schedule_input_clean.
        text = StrictCharField(trim_whitespace=False, allow_blank=True)
        publish_at = StrictCharField()
        timezone = StrictCharField(required=False, allow_null=True)
        destinations = serializers.ListField(
            child=serializers.IntegerField(), required=False,
            help_text="Your destinations' ids besides the feed (always included); default: your default set.",
        )

    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [PostCountThrottle]
    throttle_scope = "scheduling"

    @extend_schema(
        request=one_or_many("ScheduleOneOrMany", ScheduleInputSerializer, ScheduleInputSerializer(many=True)),
        responses={201: one_or_many("ScheduledPostOrList", ScheduledPostWrittenSerializer, ScheduledPostWrittenSerializer(many=True))},
    )
    def post(self, request):
        limit = settings.PSCHED_MAX_BULK
        many = isinstance(request.data, list)
        if not many and not isinstance(request.data, dict):
            raise ParseError(f"Send a JSON object, or a list of at most {limit} objects.")
        items = request.data if many else [request.data]
        if many and not items:
            raise serializers.ValidationError({"non_field_errors": ["The list is empty."]})
        if len(items) > limit:
            raise serializers.ValidationError({"non_field_errors": [f"At most {limit} posts per request; this has {len(items)}."]})
        inputs, errors = [], []
        now = request_now(request)  # the database clock, without a query of its own
        for item in items:
            # The service checks each value and says what is wrong; a serializer pass over
            # a thousand items first would double the cost of a bulk request.
            if not isinstance(item, dict):
                errors.append({"non_field_errors": ["Each post is an object with text and publish_at."]})
                continue
            try:
                inputs.append(schedule_input_clean(
                    text=item.get("text"), publish_at=item.get("publish_at"), timezone_name=item.get("timezone"),
                    now=now, extras=api_extras(item),
                ))
                errors.append({})
            except ValidationError as error:
                errors.append(error.message_dict)  # collected: one answer names every bad item
        if any(errors):
            # One object: its errors by field. A list: one entry per item, {} for good ones.
            raise serializers.ValidationError(errors if many else errors[0])
        created = scheduled_posts_create(author=request.user, inputs=inputs)
        output = scheduled_posts_serialize(created, detail=request.user.is_staff)
        for item, warnings in zip(output, posts_clash_warnings(created)):
            item["warnings"] = warnings
        return Response(output if many else output[0], status=status.HTTP_201_CREATED)


class DraftOrQueueInputSerializer(serializers.Serializer):
    """A draft (`"draft": true`, no publish_at) or a post for the next queue slot
    (`"queue": true`)."""

    text = StrictCharField(trim_whitespace=False, allow_blank=True)
    draft = serializers.BooleanField(required=False)
    queue = serializers.BooleanField(required=False)
    timezone = StrictCharField(required=False, allow_null=True)
    destinations = serializers.ListField(
        child=serializers.IntegerField(), required=False,
        help_text="Your destinations' ids besides the feed (always included); default: your default set. "
                  "A draft keeps them until it is scheduled.",
    )


def _draft_or_queue_clean(request) -> dict:
    """The body of a draft or a queued post: either, not both, and no publish_at."""
    data = DraftOrQueueInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    values = data.validated_data
    if values.get("draft") and values.get("queue"):
        raise serializers.ValidationError({"queue": ["A post is either a draft or queued, not both."]})
    if "publish_at" in request.data:
        raise serializers.ValidationError({"publish_at": ["A draft or a queued post takes no publish_at."]})
    return values


class QueuedPostCreateApi(APIView):
    """`{"text", "queue": true, "destinations"?}`: a post in your next free queue slot (POST
    /api/scheduled-posts/)."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [PostCountThrottle]
    throttle_scope = "scheduling"

    @extend_schema(request=DraftOrQueueInputSerializer, responses={201: ScheduledPostWrittenSerializer})
    def post(self, request):
        values = _draft_or_queue_clean(request)
        post = queued_post_create(
            author=request.user, text=values["text"], now=request_now(request), extras=api_extras(values)
        )
        return Response(scheduled_post_written(post), status=status.HTTP_201_CREATED)


class DraftCreateApi(APIView):
    """`{"text", "draft": true, "timezone"?, "destinations"?}`: a draft, kept without a time with
    the destinations it will be sent to (POST /api/scheduled-posts/)."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [PostCountThrottle]
    throttle_scope = "scheduling"

    @extend_schema(request=DraftOrQueueInputSerializer, responses={201: ScheduledPostWrittenSerializer})
    def post(self, request):
        values = _draft_or_queue_clean(request)
        if not values.get("draft"):  # "draft" or "queue" sent, but false
            raise serializers.ValidationError({"publish_at": ["This field is required (or send draft or queue true)."]})
        post = draft_create(
            author=request.user, text=values["text"], timezone_name=values.get("timezone"),
            extras=api_extras(values),
        )
        return Response(scheduled_post_written(post), status=status.HTTP_201_CREATED)


class ScheduledPostDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ScheduledPostOutputSerializer)
    def get(self, request, pk):
        post = scheduled_posts_visible(user=request.user).get(pk=pk)
        return Response(scheduled_post_serialize(post, detail=request.user.is_staff))


class ScheduleUpdateSerializer(serializers.Serializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True, required=False)
    publish_at = StrictCharField(required=False)
    timezone = StrictCharField(required=False)
    queue = serializers.BooleanField(required=False, help_text="true: into the next free queue slot.")
    destinations = serializers.ListField(
        child=serializers.IntegerField(), required=False,
        help_text="Your destinations' ids besides the feed: replaces the post's choice.",
    )


def _update_clean(request, pk) -> tuple[dict, dict | None]:
    """The changes of a PATCH of one's own post, and its `extras` (the destinations)."""
    scheduled_post_get_own(user=request.user, scheduled_post_id=pk, verb="edit")
    if not isinstance(request.data, dict):
        raise ParseError("Send a JSON object with text and/or publish_at.")
    data = ScheduleUpdateSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    values = data.validated_data
    if not values:
        raise serializers.ValidationError({"non_field_errors": ["Send text, publish_at and/or destinations to change."]})
    return values, api_extras(values)


class ScheduledPostUpdateApi(APIView):
    """Changes text and/or publish_at (+ timezone) and/or destinations while not published (a
    draft given a time keeps the destinations it was saved with, unless they are given);
    `"queue": true` (with text and/or destinations if wanted) takes the next free queue slot."""

    # A body with "queue" is served by ScheduledPostEnqueueApi (psched/api_urls.py joins
    # them); this view documents the URL.

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=ScheduleUpdateSerializer, responses=ScheduledPostWrittenSerializer)
    def patch(self, request, pk):
        values, extras = _update_clean(request, pk)
        post = scheduled_post_update(
            scheduled_post_id=pk,
            author=request.user,
            text=values.get("text"),
            publish_at=values.get("publish_at"),
            timezone_name=values.get("timezone"),
            extras=extras,
            now=request_now(request),
        )
        return Response(scheduled_post_written(scheduled_posts_visible(user=request.user).get(pk=post.pk), detail=request.user.is_staff))


class ScheduledPostEnqueueApi(APIView):
    """`{"queue": true, "text"?, "destinations"?}`: one's post (a draft, or pending) into the
    next free queue slot (PATCH /api/scheduled-posts/{id}/)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=ScheduleUpdateSerializer, responses=ScheduledPostWrittenSerializer)
    def patch(self, request, pk):
        values, extras = _update_clean(request, pk)
        if "publish_at" in values:
            raise serializers.ValidationError({"queue": ["Give either publish_at or queue, not both."]})
        post = scheduled_post_enqueue(
            scheduled_post_id=pk, author=request.user, text=values.get("text"), extras=extras, now=request_now(request),
        )
        return Response(scheduled_post_written(scheduled_posts_visible(user=request.user).get(pk=post.pk)))


class ScheduledPostCancelApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        scheduled_post_get_own(user=request.user, scheduled_post_id=pk, verb="cancel")
        scheduled_post_cancel(scheduled_post_id=pk, author=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScheduledPostRetryApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=ScheduledPostOutputSerializer)
    def post(self, request, pk):
        scheduled_post_get_own(user=request.user, scheduled_post_id=pk, verb="retry", staff_may=True)
        post = scheduled_post_retry(scheduled_post_id=pk)
        post = scheduled_posts_visible(user=request.user).get(pk=post.pk)
        return Response(scheduled_post_serialize(post, detail=request.user.is_staff))
