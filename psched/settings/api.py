"""Request limits, Django REST framework and the OpenAPI schema."""
from psched.lib.env import env_int, env_str

# Requests above this size get a 413 from DATA_UPLOAD_MAX_MEMORY_SIZE; 1000 posts of 500
# characters, encoded as JSON, fit comfortably.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("PSCHED_MAX_REQUEST_BYTES", 2_621_440, minimum=1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request gets 401 with WWW-Authenticate, not 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # The API speaks JSON (the browsable API's raw form sends JSON too).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "psched.lib.pagination.NewestFirstPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "psched.lib.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "token": env_str("PSCHED_TOKEN_THROTTLE", "30/min"),
        "scheduling": env_str("PSCHED_SCHEDULING_THROTTLE", "100000/hour"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "psched API",
    "DESCRIPTION": "Post now or schedule posts; dispatcher nodes publish them at their time, exactly once.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}
