"""Production settings: refused when unsafe, and `manage.py check --deploy` is clean."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "PSCHED_HTTPS", "PSCHED_ENV", "DJANGO_SETTINGS_MODULE")}
    environment.update({"DATABASE_URL": "sqlite:///:memory:", "CELERY_BROKER_URL": "memory://", **env})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


PRODUCTION = {"PSCHED_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "psched.example.com"}


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_implies_https_settings():
    result = manage("shell", "-c", (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG)"
    ), **PRODUCTION)
    assert result.stdout.split()[-5:] == ["True", "True", "True", "True", "False"], result.stderr


def test_production_refuses_debug():
    result = manage("check", **PRODUCTION, DEBUG="1")
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_refuses_a_weak_secret_key():
    for weak in ("x", "integration-secret", "django-insecure-" + "a" * 50, "a" * 60):
        result = manage("check", **{**PRODUCTION, "SECRET_KEY": weak})
        assert result.returncode != 0, weak
        assert "SECRET_KEY is too weak" in result.stderr


def test_production_refuses_a_missing_secret_key():
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert result.stderr.strip() == "psched: SECRET_KEY must be set when PSCHED_ENV=production (var/secret_key is for development)."


def test_an_unknown_environment_name_is_refused():
    result = manage("check", PSCHED_ENV="prod", SECRET_KEY="x")
    assert result.returncode != 0
    assert "PSCHED_ENV must be" in result.stderr


def test_development_serves_plain_http():
    result = manage("shell", "-c", "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT)", SECRET_KEY="x")
    assert result.stdout.split()[-1] == "False", result.stderr


def test_the_throttle_cache_is_shared_redis_or_database():
    show = "from django.conf import settings as s; print(s.CACHES['default']['BACKEND'].rsplit('.', 1)[-1])"
    assert manage("shell", "-c", show, **PRODUCTION).stdout.split()[-1] == "DatabaseCache"
    redis = manage("shell", "-c", show, **{**PRODUCTION, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/3"})
    assert redis.stdout.split()[-1] == "RedisCache", redis.stderr
    bad = manage("check", **PRODUCTION, PSCHED_CACHE_URL="memcached://x")
    assert bad.returncode != 0 and "PSCHED_CACHE_URL must be" in bad.stderr
