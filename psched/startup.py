"""What manage.py, the WSGI app and Celery do before Django reads the settings.

In development the secret key is made on first start and kept in var/secret_key, as the
embedded database is, so nothing needs exporting; PSCHED_ENV=production never reads it.
A misconfiguration stops the start with one line, not a traceback.
"""
import fcntl
import gc
import os
import secrets
import sys
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    return Path(os.environ.get("PSCHED_VAR_DIR") or BASE_DIR / "var")


def var_dir_ensure(path: Path) -> None:
    """Creates var/ (or a folder in it) readable by its owner only: the secret, the database
    with its sessions and tokens, the broker's messages. Each missing folder on the way is made
    0700 (mkdir's parents=True would make them 0755); one that exists is left as it is:
    PSCHED_VAR_DIR may name a shared one."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def _secret_read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def secret_key_file_ensure() -> None:
    """A development secret in var/secret_key, unless SECRET_KEY is exported or this is production.

    Written to a temporary file and renamed, so no reader sees it half-written; an empty file
    (a start killed while writing it, by an earlier version) is written again. Web, node and
    beat start together: a lock lets one of them write while the others wait and read it."""
    if os.environ.get("SECRET_KEY") or os.environ.get("PSCHED_ENV", "").strip().lower() == "production":
        return
    directory = var_dir()
    path = directory / "secret_key"
    if _secret_read(path):
        return
    var_dir_ensure(directory)
    with open(directory / ".secret_key.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _secret_read(path):
            return
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(descriptor, "w") as secret_file:
                secret_file.write(secrets.token_urlsafe(50))
                secret_file.flush()
                os.fsync(secret_file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def sqlite_files_private(databases: dict) -> None:
    """The embedded database holds sessions and API tokens: its file is its owner's only.
    SQLite gives its -wal and -shm files the database file's mode, so creating that file 0600
    before the first connection covers them; one an earlier version made 0644 is narrowed."""
    for config in databases.values():
        name = str(config.get("NAME") or "")
        if not config.get("ENGINE", "").endswith("sqlite3") or not name or name == ":memory:" or name.startswith("file:"):
            continue
        path = Path(name)
        if not path.parent.is_dir():
            continue
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        for file in (path, Path(f"{name}-wal"), Path(f"{name}-shm")):
            try:
                if file.stat().st_mode & 0o077:
                    file.chmod(0o600)
            except FileNotFoundError:
                pass


def settings_load() -> None:
    """Reads the settings now, so a bad value ends the start with `psched: <what is wrong>`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psched.settings")
    secret_key_file_ensure()
    from django.conf import settings

    try:
        var_dir_ensure(settings.VAR_DIR)
        sqlite_files_private(settings.DATABASES)
    except ImproperlyConfigured as error:
        sys.exit(f"psched: {error}")


def heap_freeze() -> None:
    """Once a process has loaded what it keeps for its life (the code, the settings, the URL
    patterns), moves those objects out of the garbage collector's sight (gc.freeze): a full
    collection then scans only what came after. Without it, a node's full collections held every
    thread of the process for 130 to 200 ms, and the posts it was about to send were that late
    (docs/benchmarks.md, "The lateness tail")."""
    gc.collect()
    gc.freeze()
