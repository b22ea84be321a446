"""Debug, the secret key, hosts, PSCHED_ENV and the HTTPS headers."""
import os

from django.core.exceptions import ImproperlyConfigured

from psched.lib.env import env_bool, env_choice, env_int, env_list, env_str

from .paths import VAR_DIR

DEBUG = env_bool("DEBUG", False)

# PSCHED_ENV=production is a deployment: it refuses what is only fit for a developer's machine
# rather than start with it, and it implies HTTPS (PSCHED_HTTPS=0 only behind a proxy that
# terminates TLS and redirects by itself).
PSCHED_ENV = env_choice("PSCHED_ENV", "development", ["development", "production"])


def secret_key_development() -> str:
    """SECRET_KEY, else the key manage.py, the WSGI app or Celery made in var/secret_key on first start.

    Empty when neither exists: Django then refuses with "The SECRET_KEY setting must not be empty."
    """
    secret_key = env_str("SECRET_KEY", "")
    if secret_key:
        return secret_key
    try:
        return (VAR_DIR / "secret_key").read_text().strip()
    except FileNotFoundError:
        return ""


if PSCHED_ENV == "production":
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when PSCHED_ENV=production (var/secret_key is for development).")
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when PSCHED_ENV=production: it shows settings and code to anyone.")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for PSCHED_ENV=production: use at least 50 random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
else:
    SECRET_KEY = secret_key_development()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
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
