from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.throttling import ScopedRateThrottle

from psched.lib.api import StrictCharField, datetime_text

from .models import Post
from .selectors import post_feed
from .services import post_create


def post_serialize(post: Post) -> dict:
    """A Post as the API answers it: PostOutputSerializer's fields, built by hand because a
    node's callback answers with up to PSCHED_MAX_BULK posts at once."""
    return {
        "id": post.pk,
        "author": post.author.username,
        "text": post.text,
        "published_at": datetime_text(post.published_at),
        "scheduled_post": post.scheduled_post_id,
        "scheduled_for": datetime_text(post.scheduled_for),
        "dispatcher": post.dispatcher.name if post.dispatcher_id else None,
        "lateness_ms": post.lateness_ms,
    }


class PostOutputSerializer(serializers.Serializer):
    # The schema of post_serialize; tests/feed/test_serialize.py keeps both in step.

    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    text = serializers.CharField()
    published_at = serializers.DateTimeField()
    scheduled_post = serializers.IntegerField(source="scheduled_post_id", allow_null=True)
    scheduled_for = serializers.DateTimeField(allow_null=True)
    dispatcher = serializers.CharField(source="dispatcher.name", read_only=True, allow_null=True)
    lateness_ms = serializers.IntegerField(allow_null=True)


class PostListApi(generics.ListAPIView):
    """The feed, newest first (`?author=<username>`)."""

    serializer_class = PostOutputSerializer

    def get_queryset(self):
        return post_feed(author_username=self.request.query_params.get("author") or None)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([post_serialize(post) for post in page])


class PostCreateApi(APIView):
    """POST `{"text"}` publishes now. (A dispatcher node's POST to the same URL is served by
    dispatchers.api.NodePublishApi.)"""

    class PostInputSerializer(serializers.Serializer):
        text = StrictCharField(trim_whitespace=False, allow_blank=True)

    # Users posting now are throttled (a node's callback is NodePublishApi's).
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "posting"

    @extend_schema(request=PostInputSerializer, responses={201: PostOutputSerializer})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ParseError("Send a JSON object: {\"text\": \"...\"}.")
        data = self.PostInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = post_create(author=request.user, text=data.validated_data["text"])
        return Response(post_serialize(post), status=status.HTTP_201_CREATED)


class PostDetailApi(generics.RetrieveAPIView):
    serializer_class = PostOutputSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return post_feed()

    def retrieve(self, request, *args, **kwargs):
        return Response(post_serialize(self.get_object()))
