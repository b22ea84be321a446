"""/api/destinations/ and /api/deliveries/: one view per operation. A user sees and manages
only their own; a destination's secret is in the answer that creates or rotates it, and
nowhere else."""
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from psched.lib.api import StrictCharField, datetime_text

from .models import Destination
from .selectors import deliveries_of, delivery_serialize, destinations_of
from .services import (
    delivery_retry,
    destination_create,
    destination_delete,
    destination_rotate_secret,
    destination_secret_replace,
    destination_set_state,
    destination_test,
)


def destination_serialize(destination: Destination) -> dict:
    return {
        "id": destination.pk,
        "name": destination.name,
        "kind": destination.kind,
        "url": destination.url,
        "state": destination.state,
        "state_reason": destination.state_reason,
        "is_default": destination.is_default,
        "created_at": datetime_text(destination.created_at),
    }


class DestinationOutputSerializer(serializers.Serializer):
    # The schema of destination_serialize; tests/destinations/test_api.py keeps both in step.
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    url = serializers.CharField(help_text="Where a webhook is sent; empty for other kinds.")
    state = serializers.CharField(help_text="active, paused (by you) or disabled (by psched: the receiver answered 410).")
    state_reason = serializers.CharField(help_text="Why psched disabled it.")
    is_default = serializers.BooleanField(help_text="New scheduled posts that name no destinations go here too.")
    created_at = serializers.DateTimeField()


class DestinationCreatedSerializer(DestinationOutputSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…), in this answer only: keep it now.")


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    destination = serializers.IntegerField()
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    remote_id = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()


def _object(request) -> dict:
    if not isinstance(request.data, dict):
        raise ParseError("Send a JSON object.")
    return request.data


class DestinationListApi(generics.GenericAPIView):
    """Your destinations (the feed is always one of them and is not listed)."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = DestinationOutputSerializer
    pagination_class = None

    @extend_schema(operation_id="destinations_list", responses=DestinationOutputSerializer(many=True))
    def get(self, request):
        return Response([destination_serialize(destination) for destination in destinations_of(user=request.user)])


class DestinationCreateApi(APIView):
    """A new destination: `{"name", "kind": "webhook", "url": "https://…"}` (the answer holds
    the signing secret, once), or `{"name", "kind": "bluesky", "pds_url": "https://bsky.social",
    "handle", "app_password"}` (the password is tried at once: a wrong one is a 400 naming it;
    it is kept encrypted and never shown)."""

    class InputSerializer(serializers.Serializer):
        name = StrictCharField(max_length=100)
        kind = StrictCharField()
        url = StrictCharField(required=False, max_length=1000)
        pds_url = StrictCharField(required=False, max_length=1000, help_text="Bluesky: the PDS (default https://bsky.social).")
        handle = StrictCharField(required=False, max_length=253, help_text="Bluesky: the account's handle.")
        app_password = StrictCharField(required=False, max_length=100, help_text="Bluesky: an app password (write-only).")
        is_default = serializers.BooleanField(required=False, default=False)

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=InputSerializer, responses={201: DestinationCreatedSerializer})
    def post(self, request):
        data = self.InputSerializer(data=_object(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        config = {key: value for key, value in request.data.items() if key not in ("name", "kind", "is_default")}
        destination, secret = destination_create(
            owner=request.user, name=values["name"], kind=values["kind"], config=config, is_default=values["is_default"]
        )
        body = destination_serialize(destination)
        if secret:
            body["secret"] = secret
        return Response(body, status=status.HTTP_201_CREATED)


class DestinationDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=DestinationOutputSerializer)
    def get(self, request, pk):
        return Response(destination_serialize(destinations_of(user=request.user).get(pk=pk)))


class DestinationUpdateApi(APIView):
    """Pause (`{"state": "paused"}`) or resume (`"active"`) a destination; give a Bluesky
    destination a new app password (`{"app_password"}`: tried at once; a destination that
    needed attention is active again and its waiting posts go)."""

    class InputSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=["active", "paused"], required=False)
        app_password = StrictCharField(required=False, max_length=100)

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=InputSerializer, responses=DestinationOutputSerializer)
    def patch(self, request, pk):
        data = self.InputSerializer(data=_object(request))
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not values:
            raise ParseError("Give state or app_password.")
        destination = None
        if "app_password" in values:
            destination = destination_secret_replace(
                destination_id=pk, owner=request.user, config={"app_password": values["app_password"]}
            )
        if "state" in values:
            destination = destination_set_state(destination_id=pk, owner=request.user, state=values["state"])
        return Response(destination_serialize(destination))


class DestinationDeleteApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        destination_delete(destination_id=pk, owner=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DestinationTestApi(APIView):
    """Sends a `destination.test` event now and says how it went."""

    class OutputSerializer(serializers.Serializer):
        state = serializers.CharField(help_text="delivered, retry, unconfirmed, failed or gone.")
        status = serializers.IntegerField(allow_null=True, help_text="The receiver's HTTP status.")
        error = serializers.CharField()

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request, pk):
        outcome = destination_test(destination_id=pk, owner=request.user)
        return Response({"state": outcome.state, "status": outcome.status, "error": outcome.error})


class DestinationRotateSecretApi(APIView):
    """A new signing secret, in this answer only; the old one keeps signing beside it for
    PSCHED_WEBHOOK_ROTATION_GRACE_SECONDS (a day by default)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=DestinationCreatedSerializer)
    def post(self, request, pk):
        destination, secret = destination_rotate_secret(destination_id=pk, owner=request.user)
        return Response({**destination_serialize(destination), "secret": secret})


class DeliveryRetryApi(APIView):
    """A failed or cancelled delivery sent again (the same key: a receiver that has it applies it once)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=DeliveryOutputSerializer)
    def post(self, request, pk):
        deliveries_of(user=request.user).get(pk=pk)  # 404 unless it is the user's
        return Response(delivery_serialize(delivery_retry(delivery_id=pk, user=request.user)))


