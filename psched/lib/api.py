"""API-wide pieces: the one place where errors become answers (every error is JSON, bad input
is a 4xx, never a 500), a text field that takes only text, and schema helpers."""
import json
from datetime import timezone as dt_timezone

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig, ValidationError
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.authentication import get_authorization_header
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import Conflict


def exception_handler(exc, context):
    """Service errors become HTTP answers here, and only here: a Django ValidationError is a 400
    naming its fields, Conflict a 409, a missing object a 404, Django's PermissionDenied a 403
    that keeps its message."""
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
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
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


def view_by_body_flag(default, *, method: str, unset=None, **by_flag):
    """One URL and method, a view per kind of body: a `method` request whose JSON body is an
    object with one of by_flag's keys set (`"queue": true`) goes to that key's view, the first
    in by_flag's order whose value is true or not a boolean at all (its view says what is
    wrong); an object whose flags are there but false (`"draft": "no"`) goes to `unset`
    (default: default). Everything else (a list, no flag, a body that is not a JSON object)
    goes to default, which answers bad bodies as it always does. Only an object's bytes are
    parsed here; a list is left to default's parser."""
    names = list(by_flag)
    boolean = serializers.BooleanField()

    def flag(value) -> bool:
        try:
            return boolean.to_internal_value(value)
        except serializers.ValidationError:
            return True  # not a boolean: the flag's view answers the 400 naming it

    @csrf_exempt  # each view makes its own CSRF decision (DRF: session auth only)
    def view(request, *args, **kwargs):
        if request.method == method:
            try:
                body = request.body.lstrip()
                data = json.loads(body) if body.startswith(b"{") else None
            except (RequestDataTooBig, ValueError):
                data = None
            if isinstance(data, dict):
                present = [name for name in names if data.get(name) not in (None, False)]
                if present:
                    chosen = next((by_flag[name] for name in present if flag(data[name])), unset or default)
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


# --- the error answers in the OpenAPI schema ----------------------------------------------
# Every operation lists the errors it can answer, each code with its one shape, so that a
# generated client knows them. Which codes an operation has follows from how it is served:
# the exception handler above, DRF's authentication, permissions, throttles and pagination.
ERROR_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "What was wrong and what to do."}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "oneOf": [
        {
            "type": "object",
            "description": 'Each bad field with its messages: `{"text": ["Write something: the text is empty."]}` '
                           '(a list field: one object per item, `{}` for good ones); errors that name no field '
                           'are under `non_field_errors`; a body that is not JSON: `{"detail"}`.',
            "additionalProperties": {},
        },
        {
            "type": "array",
            "description": "A list body: one object per item, naming its bad fields, `{}` for good ones.",
            "items": {"type": "object", "additionalProperties": {}},
        },
    ],
}
ERROR_ANSWERS = {
    "400": ("ValidationError", VALIDATION_ERROR, "The input is wrong; the answer names each bad field."),
    "401": ("ErrorDetail", ERROR_DETAIL, "No credentials, or a wrong or revoked token."),
    "403": ("ErrorDetail", ERROR_DETAIL, "Not allowed: not yours, staff only, or a session request without its CSRF token."),
    "404": ("ErrorDetail", ERROR_DETAIL, "No such object (or not visible to you), or a page cursor that is not valid."),
    "409": ("ErrorDetail", ERROR_DETAIL, "The object's state does not allow this (e.g. published already)."),
    "413": ("ErrorDetail", ERROR_DETAIL, "The request body is too large."),
    "415": ("ErrorDetail", ERROR_DETAIL, "The body is not JSON (send Content-Type: application/json)."),
    "429": ("ErrorDetail", ERROR_DETAIL, "Too many requests; Retry-After says how many seconds to wait."),
    "503": ("ErrorDetail", ERROR_DETAIL, "The database is unavailable or busy; nothing was written. Retry after "
                                         "Retry-After seconds."),
}
# Permissions that only ask who is calling (answered with 401, Token being the first
# authentication class); any other may refuse a caller it knows (403).
_WHO_ONLY = ("AllowAny", "IsAuthenticated", "IsAuthenticatedOrReadOnly")


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, with the error answers beside the success answers."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction == "response":
            for code in self.error_codes():
                responses.setdefault(code, self._error_response(code))
        return responses

    def error_codes(self) -> list[str]:
        view, method = self.view, self.method
        takes_body = method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        paginated = method == "GET" and self._is_list_view() and self._get_paginator() is not None
        has_id = "{" in self.path
        checks_more_than_who = any(type(p).__name__ not in _WHO_ONLY for p in view.get_permissions())
        codes = ["401"]  # a wrong token is refused on every operation, even where anyone may read
        if takes_body or paginated:
            codes.append("400")
        if method not in permissions.SAFE_METHODS or checks_more_than_who:
            codes.append("403")
        if has_id or paginated:
            codes.append("404")
        if has_id and method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.append("409")
        if takes_body:
            codes += ["413", "415"]
        if view.get_throttles():
            codes.append("429")
        codes.append("503")  # any operation, while the database restarts, fails over or is out of connections
        return sorted(codes)

    def _error_response(self, code: str) -> dict:
        name, schema, description = ERROR_ANSWERS[code]
        self.registry.register_on_missing(ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name,
        ))
        answer = {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
        if code in ("429", "503"):
            answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
        return answer
