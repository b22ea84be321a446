from django.core.exceptions import ValidationError
from django.db import OperationalError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from dispatchers.authentication import NodeCredentialAuthentication, request_node
from psched.api import StrictCharField, one_or_many
from psched.db import is_retryable, retry_on_deadlock
from scheduling.services import scheduled_posts_publish

from .selectors import post_feed
from .services import post_create


_format_datetime = serializers.DateTimeField().to_representation


class PostOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    text = serializers.CharField()
    published_at = serializers.DateTimeField()
    scheduled_post = serializers.IntegerField(source="scheduled_post_id", allow_null=True)
    scheduled_for = serializers.DateTimeField(allow_null=True)
    dispatcher = serializers.CharField(source="dispatcher.name", read_only=True, allow_null=True)
    lateness_ms = serializers.IntegerField(allow_null=True)

    def to_representation(self, post):
        # By hand: a node's callback returns up to 1000 posts, and field-by-field
        # serialization was most of its time. Same fields and formats as declared above.
        when = _format_datetime
        return {
            "id": post.pk,
            "author": post.author.username,
            "text": post.text,
            "published_at": when(post.published_at),
            "scheduled_post": post.scheduled_post_id,
            "scheduled_for": when(post.scheduled_for) if post.scheduled_for else None,
            "dispatcher": post.dispatcher.name if post.dispatcher_id else None,
            "lateness_ms": post.lateness_ms,
        }


class PostInputSerializer(serializers.Serializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True)


class ClaimInputSerializer(serializers.Serializer):
    """A claim's shape, for the schema; claims_clean checks the same rules for up to 1000."""

    scheduled_post = serializers.IntegerField(min_value=1)
    claim_token = StrictCharField(max_length=32)
    version = serializers.IntegerField(min_value=1)


def claims_clean(data) -> list[dict]:
    """A node's list of claims: [{"scheduled_post": int, "claim_token": str, "version": int}].
    Checked by hand rather than by a serializer, since a batch holds up to 1000."""
    if not isinstance(data, list) or not data:
        raise ParseError("A dispatcher node sends a non-empty JSON list of claims.")
    if len(data) > 1000:
        raise serializers.ValidationError({"non_field_errors": ["At most 1000 claims per request."]})
    errors, claims = [], []
    for item in data:
        problems = {}
        if not isinstance(item, dict):
            errors.append({"non_field_errors": ["Each claim is an object."]})
            continue
        for field in ("scheduled_post", "version"):
            value = item.get(field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems[field] = ["A positive integer is required."]
        token = item.get("claim_token")
        if not isinstance(token, str) or not 0 < len(token) <= 32:
            problems["claim_token"] = ["A claim token of 1 to 32 characters is required."]
        errors.append(problems)
        claims.append(item)
    if any(errors):
        raise serializers.ValidationError(errors)
    return claims


class IsUserOrNode(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated) or request_node(request) is not None


class PostListApi(generics.ListAPIView):
    """The feed, newest first (`?author=<username>`). POST `{"text"}` publishes now.
    A dispatcher node POSTs a list of its claims; each gets its Post, or an error."""

    authentication_classes = [TokenAuthentication, NodeCredentialAuthentication, SessionAuthentication]
    permission_classes = [IsUserOrNode]
    serializer_class = PostOutputSerializer

    def get_queryset(self):
        return post_feed(author_username=self.request.query_params.get("author") or None)

    @extend_schema(
        request=one_or_many("PostOrClaims", PostInputSerializer, ClaimInputSerializer(many=True)),
        responses={
            201: one_or_many("PostOrPosts", PostOutputSerializer, PostOutputSerializer(many=True)),
        },
        description="A user sends `{\"text\"}` and the post is published now. A dispatcher node sends a "
                    "list of its claims and gets a list back: a Post each, or `{scheduled_post, error}`. "
                    "With `?answer=ids` the node gets `{scheduled_post, post}` (the Post's id) instead of each Post.",
    )
    def post(self, request):
        node = request_node(request)
        if node is not None:
            return self._publish_claims(request, node)
        if not isinstance(request.data, dict):
            raise ParseError("Send a JSON object: {\"text\": \"...\"}.")
        data = PostInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            post = post_create(author=request.user, text=data.validated_data["text"])
        except ValidationError as error:
            raise serializers.ValidationError({"text": error.messages}) from None
        return Response(PostOutputSerializer(post).data, status=status.HTTP_201_CREATED)

    def _publish_claims(self, request, node):
        claims = claims_clean(request.data)
        try:
            results = retry_on_deadlock(scheduled_posts_publish, attempts=3)(node=node, claims=claims)
        except OperationalError as error:
            if not is_retryable(error):
                raise
            # The node keeps its claim and retries with backoff; nothing was written.
            return Response({"detail": "The database is busy; retry."}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        if request.query_params.get("answer") == "ids":
            # What a node needs: which post each claim became, or why it was refused.
            body = [
                {"scheduled_post": result.scheduled_post_id, "post": result.post_id} if result.post_id
                else {"scheduled_post": result.scheduled_post_id, "error": result.error}
                for result in results
            ]
        else:
            posts = post_feed().in_bulk([result.post_id for result in results if result.post_id])
            body = [
                PostOutputSerializer(posts[result.post_id]).data if result.post_id
                else {"scheduled_post": result.scheduled_post_id, "error": result.error}
                for result in results
            ]
        if any(result.created for result in results):
            code = status.HTTP_201_CREATED
        elif any(result.post_id for result in results):
            code = status.HTTP_200_OK
        elif any(result.forbidden for result in results):
            code = status.HTTP_403_FORBIDDEN  # another node's posts: not ours to publish
        else:
            code = status.HTTP_409_CONFLICT  # edited, cancelled or taken over since the claim
        return Response(body, status=code)


class PostDetailApi(generics.RetrieveAPIView):
    serializer_class = PostOutputSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return post_feed()
