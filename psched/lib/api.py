"""API-wide pieces: error handling (every error is JSON, bad input is a 4xx, never a 500) and
a text field that takes only text."""
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large. Send at most 1000 posts per request."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return drf_exception_handler(exc, context)


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans, lists and objects instead of turning them
    into text: `{"text": 5}` is a mistake the client should hear about."""

    default_error_messages = {"invalid": "Send a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def one_or_many(name: str, one, many) -> PolymorphicProxySerializer:
    """For the OpenAPI schema: a body that is either one object or a list (`oneOf`)."""
    return PolymorphicProxySerializer(component_name=name, serializers=[one, many], resource_type_field_name=None, many=False)
