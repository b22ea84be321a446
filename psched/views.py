import logging

from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse

from .health import health_report
from .metrics import registry as metrics_registry

logger = logging.getLogger("psched")


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request, format=None):
    return Response({
        "auth/token": reverse("api-token", request=request),
        "posts": reverse("api-posts", request=request),
        "scheduled-posts": reverse("api-scheduled-posts", request=request),
        "dispatchers": reverse("api-dispatchers", request=request),
    })


def healthz(request):
    """200 when the database and broker answer and beat ticks; 503 otherwise. Never a 500."""
    try:
        healthy, report = health_report()
    except Exception as error:  # a health check that crashes must still say "unhealthy"
        logger.exception("health check failed")
        healthy, report = False, {"error": error.__class__.__name__}
    return JsonResponse(report, status=200 if healthy else 503)


def metrics(request):
    try:
        body = generate_latest(metrics_registry)
    except DatabaseError as error:
        logger.error("metrics: database unreachable: %s", error)
        return HttpResponse(f"database unreachable: {error.__class__.__name__}\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def not_found(request, exception):
    """A URL that matches nothing: under /api/ a JSON 404 in the API's one error shape
    (`{"detail"}`, as an unknown id gets), so that an API client never has to read a page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "No such API address; the operations are listed at /api/schema/."}, status=404)
    return page_not_found(request, exception)
