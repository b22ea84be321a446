"""Answers 503 (not 500) while the database is unreachable: restarting, failing over, or cut
off. The client may retry; nothing was written (the request's transaction did not commit)."""
import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from psched.lib.db import is_retryable

logger = logging.getLogger("psched")

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        if isinstance(exception, OperationalError) and is_retryable(exception):
            return None  # a deadlock or lock wait: the views that expect it handle it
        logger.error("database unavailable for %s %s: %s", request.method, request.path, exception)
        response = JsonResponse({"detail": "The database is unavailable; retry in a few seconds."}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
