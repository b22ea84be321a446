"""API-wide pieces: error handling (every error is JSON, bad input is a 4xx, never a 500) and
a text field that takes only text."""
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as ServiceValidationError
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """Service errors become HTTP answers here, once: a ValidationError is a 400 naming its
    fields, a Conflict a 409, a row that is not there (or not yours) a 404."""
    from scheduling.services import Conflict

    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large. Send at most 1000 posts per request."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, ServiceValidationError):
        # A list body's errors go back as a list, one entry per item ({} for good ones).
        body = getattr(exc, "items", None)
        if body is None:
            body = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ObjectDoesNotExist):
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
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
