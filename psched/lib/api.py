"""API-wide pieces: the one place where errors become answers (every error is JSON, bad input
is a 4xx, never a 500), a text field that takes only text, and schema helpers."""
from datetime import timezone as dt_timezone

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, ValidationError
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import get_authorization_header
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import Conflict


def exception_handler(exc, context):
    """Service errors become HTTP answers here, and only here: a Django ValidationError is a 400
    naming its fields, Conflict a 409, a missing object a 404."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": f"The request body is too large. Send at most {settings.PSCHED_MAX_BULK} posts per request."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, ValidationError):
        exc = serializers.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound(f"No such {_model_name(exc)}.")
    return drf_exception_handler(exc, context)


def validation_error_detail(error: ValidationError) -> dict:
    """`{"field": ["message"]}`; errors that name no field go under non_field_errors."""
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"non_field_errors": error.messages}


def _model_name(error: ObjectDoesNotExist) -> str:
    for model in apps.get_models():
        if type(error) is model.DoesNotExist:
            return model._meta.verbose_name
    return "object"


def view_by_auth_scheme(default, *, method: str, **by_scheme):
    """One URL, two views: a `method` request whose `Authorization` header uses one of
    by_scheme's keywords (`Node=...`) goes to that view, everything else to default."""

    @csrf_exempt  # each view makes its own CSRF decision (DRF: session auth only)
    def view(request, *args, **kwargs):
        if request.method == method:
            parts = get_authorization_header(request).split()
            chosen = by_scheme.get(parts[0].decode(errors="replace")) if parts else None
            if chosen is not None:
                return chosen(request, *args, **kwargs)
        return default(request, *args, **kwargs)

    # drf-spectacular documents the URL from the default view's class.
    view.cls, view.initkwargs = default.cls, default.initkwargs
    return view


def view_by_method(**by_method):
    """One URL, one view per operation (`GET=PostListApi.as_view(), POST=PostCreateApi.as_view()`):
    the request's HTTP method picks the view; HEAD goes to GET's view, any other method to the
    first view, which answers OPTIONS and 405 with an `Allow` header naming every operation."""
    default = next(iter(by_method.values()))
    allowed = ", ".join([*by_method, *(["HEAD"] if "GET" in by_method else []), "OPTIONS"])

    @csrf_exempt  # each view makes its own CSRF decision (DRF: session auth only)
    def view(request, *args, **kwargs):
        method = "GET" if request.method == "HEAD" and "GET" in by_method else request.method
        chosen = by_method.get(method)
        if chosen is not None:
            return chosen(request, *args, **kwargs)
        response = default(request, *args, **kwargs)
        if response.has_header("Allow"):
            response["Allow"] = allowed
        return response

    # The URL resolver and drf-spectacular see an APIView; views_by_method_hook documents
    # each method from its own view.
    view.cls, view.initkwargs, view.views_by_method = default.cls, default.initkwargs, by_method
    return view


def views_by_method_hook(endpoints):
    """drf-spectacular preprocessing hook: a view_by_method URL becomes one endpoint per
    operation, each documented from the view that serves it."""
    result, expanded = [], set()
    for path, path_regex, method, callback in endpoints:
        by_method = getattr(callback, "views_by_method", None)
        if by_method is None:
            result.append((path, path_regex, method, callback))
        elif path not in expanded:
            expanded.add(path)
            result.extend((path, path_regex, verb, one) for verb, one in by_method.items())
    return result


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


def datetime_text(value) -> str | None:
    """An instant as the API writes it, in UTC: DRF's DateTimeField format (ISO 8601, `Z`
    for UTC), without DRF's per-call settings lookups. None for None."""
    if value is None:
        return None
    text = value.astimezone(dt_timezone.utc).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
