"""What manage.py, the WSGI app and Celery do before Django reads the settings.

In development the secret key is made on first start and kept in var/secret_key, as the
embedded database is, so nothing needs exporting; PSCHED_ENV=production never reads it.
A misconfiguration stops the start with one line, not a traceback.
"""
import os
import secrets
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    return Path(os.environ.get("PSCHED_VAR_DIR") or BASE_DIR / "var")


def secret_key_file_ensure() -> None:
    """A development secret in var/secret_key, unless SECRET_KEY is exported or this is production."""
    if os.environ.get("SECRET_KEY") or os.environ.get("PSCHED_ENV", "").strip().lower() == "production":
        return
    path = var_dir() / "secret_key"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: web, node and beat start together; the first one writes, the others read it.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as secret_file:
        secret_file.write(secrets.token_urlsafe(50))


def settings_load() -> None:
    """Reads the settings now, so a bad value ends the start with `psched: <what is wrong>`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psched.settings")
    secret_key_file_ensure()
    from django.conf import settings

    try:
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    except ImproperlyConfigured as error:
        sys.exit(f"psched: {error}")
