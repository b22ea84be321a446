"""Request limits, Django REST framework and the OpenAPI schema."""
from psched.lib.env import env_int, env_str

# Requests above this size get a 413 from DATA_UPLOAD_MAX_MEMORY_SIZE; 1000 posts of 500
# characters, encoded as JSON, fit comfortably.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("PSCHED_MAX_REQUEST_BYTES", 2_621_440, minimum=1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request gets 401 with WWW-Authenticate, not 403.
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # The API speaks JSON (the browsable API's raw form sends JSON too).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "psched.lib.pagination.NewestFirstPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "psched.lib.api.exception_handler",
    # drf-spectacular's, documenting every error answer too.
    "DEFAULT_SCHEMA_CLASS": "psched.lib.api.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        # Login attempts (the token API, /accounts/login/, /admin/login/) per client address.
        "login": env_str("PSCHED_LOGIN_THROTTLE", env_str("PSCHED_TOKEN_THROTTLE", "30/min")),
        # Failed logins per username, from any address: guessing one account from many.
        "login_failures": env_str("PSCHED_LOGIN_FAILURES_THROTTLE", "20/hour"),
        # Posts scheduled per user: a bulk request of 1000 counts 1000.
        "scheduling": env_str("PSCHED_SCHEDULING_THROTTLE", "100000/hour"),
        # Posts published now per user (the API and the feed page).
        "posting": env_str("PSCHED_POSTING_THROTTLE", "60/min"),
    },
    # The client address is REMOTE_ADDR unless psched runs behind this many proxies that each
    # append to X-Forwarded-For; with 0 a client cannot pick its address by sending the header.
    "NUM_PROXIES": env_int("PSCHED_NUM_PROXIES", 0, minimum=0, maximum=10),
}

# An API token read from the database is taken from the process's memory for this long: a
# token deleted, or its user deactivated, in one web process is refused by the others within
# this many seconds (at once by the process that did it). 0: read on every request.
PSCHED_TOKEN_CACHE_SECONDS = env_int("PSCHED_TOKEN_CACHE_SECONDS", 1, minimum=0, maximum=60)

SPECTACULAR_SETTINGS = {
    "TITLE": "psched API",
    "DESCRIPTION": "Post now or schedule posts; dispatcher nodes publish them at their time, exactly once.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # /api/docs/ loads Swagger UI from drf-spectacular-sidecar's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One view per operation (psched.lib.api.view_by_method): document each from its own view.
    "PREPROCESSING_HOOKS": ["psched.lib.api.views_by_method_hook"],
}
