"""One settings module; every knob comes from the environment through the strict helpers below."""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env_str(name, default=None):
    value = os.environ.get(name, "")
    if value == "":
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_bool(name, default):
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name, default, minimum=None, maximum=None):
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, not {number}")
    return number


def env_float(name, default, minimum=0.0):
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def env_choice(name, default, choices):
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def env_list(name, default):
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key-only-for-debug" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# PSCHED_ENV=production is a deployment: it refuses what is only fit for a developer's machine
# rather than start with it, and it implies HTTPS (PSCHED_HTTPS=0 only behind a proxy that
# terminates TLS and redirects by itself).
PSCHED_ENV = env_choice("PSCHED_ENV", "development", ["development", "production"])
if PSCHED_ENV == "production":
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when PSCHED_ENV=production: it shows settings and code to anyone.")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for PSCHED_ENV=production: use at least 50 random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
PSCHED_HTTPS = env_bool("PSCHED_HTTPS", PSCHED_ENV == "production")

# Security headers, always.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PSCHED_HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("PSCHED_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("PSCHED_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "accounts",
    "feed",
    "scheduling",
    "dispatchers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "psched.urls"
WSGI_APPLICATION = "psched.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.user_zone",
            ],
        },
    },
]


def database_config(url):
    config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
    engine = config["ENGINE"]
    if engine.endswith("mysql"):
        config["OPTIONS"] = {
            "charset": "utf8mb4",
            # READ COMMITTED: a claim's conditional UPDATE sees rows committed by other nodes.
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        }
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    elif engine.endswith("sqlite3"):
        config["CONN_MAX_AGE"] = 0
        # Web, worker and beat share one file: WAL lets readers run beside the writer and
        # IMMEDIATE transactions wait for the lock instead of failing half-way.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        # Tests on a file too: Django's default in-memory test database shares one cache
        # between connections, whose table locks fail at once ("database table is locked")
        # instead of waiting out the timeout as the real file does.
        if config["NAME"] and config["NAME"] != ":memory:":
            config["TEST"] = {"NAME": f"{config['NAME']}.test"}
    return config


DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'psched.sqlite3'}")
DATABASES = {"default": database_config(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "feed:index"
LOGOUT_REDIRECT_URL = "feed:index"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

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
    "DEFAULT_PAGINATION_CLASS": "psched.pagination.NewestFirstPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "psched.api.exception_handler",
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

# --- psched ---
PSCHED_MAX_POST_LENGTH = env_int("PSCHED_MAX_POST_LENGTH", 500, minimum=1)
PSCHED_MAX_BULK = 1000
PSCHED_TICK_SECONDS = env_int("PSCHED_TICK_SECONDS", 1, minimum=1, maximum=3600)
PSCHED_API_URL = env_str("PSCHED_API_URL", "http://127.0.0.1:8000").rstrip("/")
# A claim's lease: long enough for one tick's look-ahead plus a slow callback.
PSCHED_LEASE_SECONDS = env_float("PSCHED_LEASE_SECONDS", 30.0, minimum=1.0)
PSCHED_MAX_ATTEMPTS = env_int("PSCHED_MAX_ATTEMPTS", 12, minimum=1)
PSCHED_RETRY_BASE_SECONDS = env_float("PSCHED_RETRY_BASE_SECONDS", 1.0, minimum=0.01)
PSCHED_RETRY_MAX_SECONDS = env_float("PSCHED_RETRY_MAX_SECONDS", 60.0, minimum=0.1)
PSCHED_BATCH_SIZE = env_int("PSCHED_BATCH_SIZE", 500, minimum=1, maximum=1000)
PSCHED_CLAIM_LIMIT = env_int("PSCHED_CLAIM_LIMIT", 2000, minimum=1)
# A node whose last tick is older than this many tick intervals (and at least 5 s) is down.
PSCHED_NODE_DOWN_TICKS = env_int("PSCHED_NODE_DOWN_TICKS", 5, minimum=2)
# How old the dashboard's and /metrics' figures over the whole schedule may get (0: none).
PSCHED_FIGURES_SECONDS = env_float("PSCHED_FIGURES_SECONDS", 10.0, minimum=0.0)
PSCHED_CALLBACK_TIMEOUT = env_float("PSCHED_CALLBACK_TIMEOUT", 10.0, minimum=0.1)
# /healthz waits this long for the broker before calling it down.
PSCHED_HEALTH_BROKER_TIMEOUT = env_float("PSCHED_HEALTH_BROKER_TIMEOUT", 2.0, minimum=0.1)

# --- Celery ---
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("messages", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "messages"),
        "data_folder_out": str(_broker_dir / "messages"),
        "control_folder": str(_broker_dir / "control"),
        "polling_interval": 0.05,
    }
elif CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ confirms each publish, so a tick beat sent is not lost silently. A message not
    # yet acked goes back to its queue when the consumer's connection drops: no visibility
    # timeout to tune (but RabbitMQ's consumer_timeout, 30 min, bounds any acks_late task).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
else:
    # Redis redelivers a message not acked within visibility_timeout: longer than any task.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# beat wakes often enough to send sub-second ticks on time.
CELERY_BEAT_MAX_LOOP_INTERVAL = 1
DJANGO_CELERY_BEAT_TZ_AWARE = True

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# json: one JSON object per line (psched.logformat.JsonFormatter), for log shippers.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ["plain", "json"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "psched.logformat.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "psched": {"level": LOG_LEVEL},
        "dispatchers": {"level": LOG_LEVEL},
        "scheduling": {"level": LOG_LEVEL},
        "feed": {"level": LOG_LEVEL},
    },
}
