from django.core.exceptions import ObjectDoesNotExist, ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import NotFound, ParseError
from psched.api import StrictCharField, one_or_many
from psched.db import db_now
from psched.pagination import PublishAtPagination
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .models import ScheduledPost
from .selectors import scheduled_posts_visible
from .services import (
    Conflict,
    schedule_input_clean,
    scheduled_post_cancel,
    scheduled_post_retry,
    scheduled_post_update,
    scheduled_posts_create,
)


_format_datetime = serializers.DateTimeField().to_representation


class ScheduledPostOutputSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    dispatcher = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    post = serializers.SerializerMethodField()

    class Meta:
        model = ScheduledPost
        fields = [
            "id", "author", "text", "publish_at", "timezone", "status", "dispatcher", "attempts",
            "last_error", "post", "published_at", "lateness_ms", "created_at", "updated_at",
        ]

    def get_post(self, obj) -> int | None:
        if obj.status != ScheduledPost.Status.PUBLISHED:
            return None  # saves a query per row: only published posts have one
        try:
            return obj.post.pk
        except ObjectDoesNotExist:
            return None

    def to_representation(self, obj):
        # By hand, for bulk requests of 1000; the same fields and formats as declared.
        when = _format_datetime
        return {
            "id": obj.pk,
            "author": obj.author.username,
            "text": obj.text,
            "publish_at": when(obj.publish_at),
            "timezone": obj.timezone,
            "status": obj.status,
            "dispatcher": obj.dispatcher.name if obj.dispatcher_id else None,
            "attempts": obj.attempts,
            "last_error": obj.last_error,
            "post": self.get_post(obj),
            "published_at": when(obj.published_at) if obj.published_at else None,
            "lateness_ms": obj.lateness_ms,
            "created_at": when(obj.created_at),
            "updated_at": when(obj.updated_at),
        }


class ScheduleInputSerializer(serializers.Serializer):
    # Strings on purpose: the service parses times and zones and explains what is wrong.
    text = StrictCharField(trim_whitespace=False, allow_blank=True)
    publish_at = StrictCharField()
    timezone = StrictCharField(required=False, allow_null=True)


class ScheduleUpdateSerializer(serializers.Serializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True, required=False)
    publish_at = StrictCharField(required=False)
    timezone = StrictCharField(required=False)


def _as_drf_error(error: ValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages})


def _conflict(error: Conflict) -> Response:
    return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)


class ScheduledPostListApi(generics.ListAPIView):
    """Schedule a post (`{"text", "publish_at", "timezone"?}`) or a list of up to 1000, all or
    nothing. GET lists your scheduled posts by publish_at; `?status=`, staff `?author=`."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ScheduledPostOutputSerializer
    pagination_class = PublishAtPagination
    throttle_scope = "scheduling"

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    def get_queryset(self):
        status_filter = self.request.query_params.get("status")
        if status_filter and status_filter not in ScheduledPost.Status.values:
            raise serializers.ValidationError({"status": [f"Use one of: {', '.join(ScheduledPost.Status.values)}."]})
        return scheduled_posts_visible(
            user=self.request.user, author_username=self.request.query_params.get("author"), status=status_filter
        )

    @extend_schema(
        request=one_or_many("ScheduleOneOrMany", ScheduleInputSerializer, ScheduleInputSerializer(many=True)),
        responses={201: one_or_many("ScheduledPostOrList", ScheduledPostOutputSerializer, ScheduledPostOutputSerializer(many=True))},
    )
    def post(self, request):
        many = isinstance(request.data, list)
        if not many and not isinstance(request.data, dict):
            raise ParseError("Send a JSON object, or a list of at most 1000 objects.")
        items = request.data if many else [request.data]
        if many and not items:
            raise serializers.ValidationError({"non_field_errors": ["The list is empty."]})
        if len(items) > 1000:
            raise serializers.ValidationError({"non_field_errors": [f"At most 1000 posts per request; this has {len(items)}."]})
        inputs, errors = [], []
        now = db_now()  # read once for the whole list
        for item in items:
            # The service checks each value and says what is wrong; a serializer pass over
            # 1000 items first would double the cost of a bulk request.
            if not isinstance(item, dict):
                errors.append({"non_field_errors": ["Each post is an object with text and publish_at."]})
                continue
            try:
                inputs.append(schedule_input_clean(
                    text=item.get("text"), publish_at=item.get("publish_at"), timezone_name=item.get("timezone"),
                    now=now,
                ))
                errors.append({})
            except ValidationError as error:
                errors.append(error.message_dict)
        if any(errors):
            # One object: its errors by field. A list: one entry per item, {} for good ones.
            raise serializers.ValidationError(errors if many else errors[0])
        created = scheduled_posts_create(author=request.user, inputs=inputs)
        output = ScheduledPostOutputSerializer(created, many=True).data
        return Response(output if many else output[0], status=status.HTTP_201_CREATED)


class ScheduledPostDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    def _get(self, request, pk):
        try:
            return scheduled_posts_visible(user=request.user).get(pk=pk)
        except ScheduledPost.DoesNotExist:
            raise NotFound("No such scheduled post.") from None

    @extend_schema(responses=ScheduledPostOutputSerializer)
    def get(self, request, pk):
        return Response(ScheduledPostOutputSerializer(self._get(request, pk)).data)

    @extend_schema(request=ScheduleUpdateSerializer, responses=ScheduledPostOutputSerializer)
    def patch(self, request, pk):
        post = self._get(request, pk)
        if post.author_id != request.user.pk:
            return Response({"detail": "Only the author can edit a scheduled post."}, status=status.HTTP_403_FORBIDDEN)
        if not isinstance(request.data, dict):
            raise ParseError("Send a JSON object with text and/or publish_at.")
        data = ScheduleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise serializers.ValidationError({"non_field_errors": ["Send text and/or publish_at to change."]})
        try:
            post = scheduled_post_update(
                scheduled_post_id=pk,
                author=request.user,
                text=data.validated_data.get("text"),
                publish_at=data.validated_data.get("publish_at"),
                timezone_name=data.validated_data.get("timezone"),
            )
        except ValidationError as error:
            raise _as_drf_error(error) from None
        except Conflict as error:
            return _conflict(error)
        return Response(ScheduledPostOutputSerializer(self._get(request, post.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        post = self._get(request, pk)
        if post.author_id != request.user.pk:
            return Response({"detail": "Only the author can cancel a scheduled post."}, status=status.HTTP_403_FORBIDDEN)
        try:
            scheduled_post_cancel(scheduled_post_id=pk, author=request.user)
        except Conflict as error:
            return _conflict(error)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScheduledPostRetryApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=ScheduledPostOutputSerializer)
    def post(self, request, pk):
        visible = scheduled_posts_visible(user=request.user)
        if not visible.filter(pk=pk).exists():
            raise NotFound("No such scheduled post.")
        try:
            post = scheduled_post_retry(scheduled_post_id=pk)
        except Conflict as error:
            return _conflict(error)
        return Response(ScheduledPostOutputSerializer(visible.get(pk=post.pk)).data)
