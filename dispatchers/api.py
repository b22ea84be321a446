import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from destinations.services import deliveries_fresh_collect
from feed.api import PostOutputSerializer, post_serialize
from feed.selectors import post_feed
from psched.lib.api import StrictCharField, datetime_text
from psched.lib.db import (
    db_now, db_now_cached, idle_transaction_limit, is_connection_lost, is_retryable, retry_on_deadlock,
)
from psched.lib.timing import timing_enabled, timing_record
from scheduling.publishing import Claim, scheduled_posts_publish

from .authentication import NodeCredentialAuthentication, request_node
from .selectors import node_overview, schedule_figures_cached


class ClaimInputSerializer(serializers.Serializer):
    """A claim's shape, for the schema; claims_clean checks the same rules for a whole batch."""

    scheduled_post = serializers.IntegerField(min_value=1)
    claim_token = StrictCharField(max_length=32)
    version = serializers.IntegerField(min_value=1)


def claims_clean(data) -> list[Claim]:
    """A node's list of claims: [{"scheduled_post": int, "claim_token": str, "version": int}].
    Checked by hand rather than by a serializer, since a batch holds up to PSCHED_MAX_BULK."""
    if not isinstance(data, list) or not data:
        raise ParseError("A dispatcher node sends a non-empty JSON list of claims.")
    if len(data) > settings.PSCHED_MAX_BULK:
        raise serializers.ValidationError({"non_field_errors": [f"At most {settings.PSCHED_MAX_BULK} claims per request."]})
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
        if not problems:
            claims.append(Claim(scheduled_post=item["scheduled_post"], claim_token=token, version=item["version"]))
    if any(errors):
        raise serializers.ValidationError(errors)
    return claims


# The longest a callback waits for its `at`: a node sends each batch PSCHED_SEND_AHEAD_MS
# before its posts fall due, so that the request, the credential check and the parsing are
# done when they do.
PUBLISH_HOLD_MAX = timedelta(milliseconds=250)


def _hold_until(at: str | None) -> datetime:
    """`?at=<ISO 8601 instant>`: the callback starts publishing at that instant by the database
    clock, if it is at most PUBLISH_HOLD_MAX away; later than that, it does not wait, and a
    post not due yet is refused as always. Waiting is all `at` does: whether each post is due
    is decided by the database clock in the publishing transaction. Returns the database
    clock read at the end of the wait, which the publishing uses (one round trip, not two)."""
    if not at:
        return db_now()
    try:
        instant = datetime.fromisoformat(at)
    except ValueError:
        raise serializers.ValidationError({"at": ["An ISO 8601 instant with its offset, e.g. 2027-01-01T09:00:00.250+00:00."]})
    if instant.tzinfo is None:
        raise serializers.ValidationError({"at": ["Give the instant's UTC offset."]})
    wait = instant - db_now_cached()
    if timedelta(0) < wait <= PUBLISH_HOLD_MAX:
        time.sleep(wait.total_seconds())
    now = db_now()
    # This process's copy of the clock may be off by a little: then wait out the rest.
    if timedelta(0) < instant - now <= PUBLISH_HOLD_MAX:
        time.sleep((instant - now).total_seconds())
        now = db_now()
    return now


class IsNode(permissions.BasePermission):
    def has_permission(self, request, view):
        return request_node(request) is not None


class NodePublishApi(APIView):
    """`POST /api/posts/` with `Authorization: Node <name>:<credential>`: the node's claims,
    each published once. psched/api_urls.py sends Node-scheme POSTs here, others to the feed."""

    authentication_classes = [NodeCredentialAuthentication]
    permission_classes = [IsNode]

    @extend_schema(
        request=ClaimInputSerializer(many=True),
        responses={201: PostOutputSerializer(many=True)},
        description="A Post for each claim, or `{scheduled_post, error}`. With `?answer=ids` (what nodes "
                    "send) `{scheduled_post, post}` with the Post's id instead of the Post, and `deliveries`, the ids "
                    "of the deliveries its publishing wrote, when there are some. With `?at=<instant>` "
                    "(ISO 8601, at most 250 ms ahead by the database clock) publishing starts at that instant: "
                    "nodes send each batch a little before its posts fall due.",
    )
    def post(self, request):
        received = db_now_cached()
        claims = claims_clean(request.data)
        try:
            # A node sends a callback that has not answered again, maybe to another web server;
            # this one's rows must not stay locked behind a crawling link meanwhile. The limit
            # is set before the hold (no transaction is open then): its round trip is not in
            # the time from published_at (read at the end of the hold) to the commit; and it is
            # reset once the answer is sent, not before (the node's deliveries wait for it).
            with idle_transaction_limit(settings.PSCHED_CALLBACK_IDLE_SECONDS, reset_at_request_end=True), \
                    deliveries_fresh_collect() as fresh:
                held = _hold_until(request.query_params.get("at"))
                results = retry_on_deadlock(scheduled_posts_publish, attempts=3)(
                    node=request_node(request), claims=claims, now=held
                )
        except OperationalError as error:
            if not (is_retryable(error) or is_connection_lost(error)):
                raise
            # The node keeps its claim and retries with backoff; nothing was written.
            return Response({"detail": "The database is busy; retry."}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        if timing_enabled():
            timing_record("callback", ids=[claim.scheduled_post for claim in claims], received=received, held=held,
                          committed=db_now_cached())
        if request.query_params.get("answer") == "ids":
            # What a node needs: which post each claim became, or why it was refused; and the
            # deliveries its publishing wrote, which the node claims by their keys at once.
            body = [
                ({"scheduled_post": result.scheduled_post_id, "post": result.post_id}
                 | ({"deliveries": fresh[result.scheduled_post_id]} if result.scheduled_post_id in fresh else {}))
                if result.post_id else {"scheduled_post": result.scheduled_post_id, "error": result.error}
                for result in results
            ]
        else:
            posts = post_feed().in_bulk([result.post_id for result in results if result.post_id])
            body = [
                post_serialize(posts[result.post_id]) if result.post_id
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


def node_overview_serialize(row: dict) -> dict:
    """One row of selectors.node_overview as the API answers it (NodeOverviewSerializer's fields)."""
    return {
        "name": row["name"],
        "queue": row["queue"],
        "state": row["state"],
        "weight": row["weight"],
        "last_tick": datetime_text(row["last_tick"]),
        "pending": row["pending"],
        "publishing": row["publishing"],
        "published_last_hour": row["published_last_hour"],
        "lateness_p50_ms": row["lateness_p50_ms"],
        "lateness_p99_ms": row["lateness_p99_ms"],
        "lateness_max_ms": row["lateness_max_ms"],
    }


class NodeOverviewSerializer(serializers.Serializer):
    # The schema of node_overview_serialize; tests/dispatchers/test_serialize.py keeps both in step.

    name = serializers.CharField()
    queue = serializers.CharField()
    state = serializers.CharField()
    weight = serializers.IntegerField()
    last_tick = serializers.DateTimeField(allow_null=True)
    pending = serializers.IntegerField()
    publishing = serializers.IntegerField()
    published_last_hour = serializers.IntegerField()
    lateness_p50_ms = serializers.IntegerField(allow_null=True)
    lateness_p99_ms = serializers.IntegerField(allow_null=True)
    lateness_max_ms = serializers.IntegerField(allow_null=True)


class DispatcherListApi(generics.GenericAPIView):
    """Dispatcher nodes with state, last tick, pending count, and the last hour's figures."""

    permission_classes = [permissions.IsAdminUser]
    serializer_class = NodeOverviewSerializer
    pagination_class = None

    def get(self, request):
        overview = node_overview(figures=schedule_figures_cached()["nodes"])
        return Response([node_overview_serialize(row) for row in overview])
