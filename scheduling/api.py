from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from psched.lib.api import StrictCharField, datetime_text, one_or_many
from psched.lib.db import request_now
from psched.lib.pagination import NewestFirstPagination, PublishAtPagination

from .clashes import post_clash_warnings, posts_clash_warnings
from .models import ScheduledPost
from .queue import queued_post_create, scheduled_post_enqueue
from .selectors import scheduled_posts_visible
from .signals import scheduled_posts_serializing
from .services import (
    draft_create,
    schedule_input_clean,
    scheduled_post_cancel,
    scheduled_post_retry,
    scheduled_post_update,
    scheduled_posts_create,
)
from .throttling import PostCountThrottle


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

    warnings = ClashWarningSerializer(many=True, read_only=True,
                                      help_text="Posts, series occurrences and free queue slots within PSCHED_CLASH_MINUTES.")

    class Meta(ScheduledPostOutputSerializer.Meta):
        fields = [*ScheduledPostOutputSerializer.Meta.fields, "warnings"]


def scheduled_post_written(post: ScheduledPost, *, detail: bool = False) -> dict:
    return {**scheduled_post_serialize(post, detail=detail), "warnings": post_clash_warnings(post)}


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
    """Schedule a post (`{"text", "publish_at", "timezone"?}`) or a list of up to PSCHED_MAX_BULK,
    all or nothing."""

    class DraftOrQueueInputSerializer(serializers.Serializer):
        """A draft (`"draft": true`, no publish_at) or a post for the next queue slot
        (`"queue": true`)."""

        text = StrictCharField(trim_whitespace=False, allow_blank=True)
        draft = serializers.BooleanField(required=False)
        queue = serializers.BooleanField(required=False)
        timezone = StrictCharField(required=False, allow_null=True)

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
        if not many and any(request.data.get(flag) not in (None, False) for flag in ("draft", "queue")):
            return self._draft_or_queue(request)
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
                    now=now, extras={"destinations": item["destinations"]} if "destinations" in item else None,
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

    def _draft_or_queue(self, request):
        data = self.DraftOrQueueInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("draft") and values.get("queue"):
            raise serializers.ValidationError({"queue": ["A post is either a draft or queued, not both."]})
        if "publish_at" in request.data:
            raise serializers.ValidationError({"publish_at": ["A draft or a queued post takes no publish_at."]})
        if values.get("queue"):
            post = queued_post_create(author=request.user, text=values["text"], now=request_now(request))
        elif values.get("draft"):
            post = draft_create(author=request.user, text=values["text"], timezone_name=values.get("timezone"))
        else:
            raise serializers.ValidationError({"publish_at": ["This field is required (or send draft or queue true)."]})
        return Response(scheduled_post_written(post), status=status.HTTP_201_CREATED)


def _own(request, pk: int, verb: str) -> ScheduledPost:
    """The visible post (404 otherwise, through the exception handler); only its author may change it."""
    post = scheduled_posts_visible(user=request.user).get(pk=pk)
    if post.author_id != request.user.pk:
        raise PermissionDenied(f"Only the author can {verb} a scheduled post.")
    return post


class ScheduledPostDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ScheduledPostOutputSerializer)
    def get(self, request, pk):
        return Response(scheduled_post_serialize(scheduled_posts_visible(user=request.user).get(pk=pk), detail=request.user.is_staff))


class ScheduledPostUpdateApi(APIView):
    class ScheduleUpdateSerializer(serializers.Serializer):
        text = StrictCharField(trim_whitespace=False, allow_blank=True, required=False)
        publish_at = StrictCharField(required=False)
        timezone = StrictCharField(required=False)
        queue = serializers.BooleanField(required=False, help_text="true: into the next free queue slot.")
        destinations = serializers.ListField(
            child=serializers.IntegerField(), required=False,
            help_text="Your destinations' ids besides the feed: replaces the post's choice.",
        )

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=ScheduleUpdateSerializer, responses=ScheduledPostWrittenSerializer)
    def patch(self, request, pk):
        _own(request, pk, "edit")
        if not isinstance(request.data, dict):
            raise ParseError("Send a JSON object with text and/or publish_at.")
        data = self.ScheduleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise serializers.ValidationError({"non_field_errors": ["Send text, publish_at and/or destinations to change."]})
        extras = {"destinations": data.validated_data["destinations"]} if "destinations" in data.validated_data else None
        if data.validated_data.get("queue"):
            if "publish_at" in data.validated_data:
                raise serializers.ValidationError({"queue": ["Give either publish_at or queue, not both."]})
            post = scheduled_post_enqueue(
                scheduled_post_id=pk, author=request.user, text=data.validated_data.get("text"), extras=extras,
                now=request_now(request),
            )
            return Response(scheduled_post_written(scheduled_posts_visible(user=request.user).get(pk=post.pk)))
        post = scheduled_post_update(
            scheduled_post_id=pk,
            author=request.user,
            text=data.validated_data.get("text"),
            publish_at=data.validated_data.get("publish_at"),
            timezone_name=data.validated_data.get("timezone"),
            extras=extras,
            now=request_now(request),
        )
        return Response(scheduled_post_written(scheduled_posts_visible(user=request.user).get(pk=post.pk), detail=request.user.is_staff))


class ScheduledPostCancelApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        _own(request, pk, "cancel")
        scheduled_post_cancel(scheduled_post_id=pk, author=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScheduledPostRetryApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=ScheduledPostOutputSerializer)
    def post(self, request, pk):
        visible = scheduled_posts_visible(user=request.user)
        visible.get(pk=pk)  # 404 unless the user may see it
        post = scheduled_post_retry(scheduled_post_id=pk)
        return Response(scheduled_post_serialize(visible.get(pk=post.pk), detail=request.user.is_staff))
