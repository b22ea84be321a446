"""Database helpers shared by the apps."""
import random
import time
from datetime import datetime, timedelta, timezone as dt_timezone
from functools import wraps

from django.db import OperationalError, connection

# MySQL/MariaDB: 1213 deadlock (the transaction was rolled back), 1205 lock wait timeout.
RETRYABLE_ERRORS = {1213, 1205}


def is_retryable(error: OperationalError) -> bool:
    return bool(error.args) and error.args[0] in RETRYABLE_ERRORS


def retry_on_deadlock(function=None, *, attempts: int = 5):
    """Runs a whole transaction again when the database chose it as a deadlock victim. Use it
    outside transaction.atomic(): a retry inside a transaction that was rolled back is useless."""
    def decorate(function):
        @wraps(function)
        def run(*args, **kwargs):
            for attempt in range(1, attempts + 1):
                try:
                    return function(*args, **kwargs)
                except OperationalError as error:
                    if not is_retryable(error) or attempt == attempts or connection.in_atomic_block:
                        raise
                    time.sleep(random.uniform(0.05, 0.2) * attempt)
        return run
    return decorate(function) if function else decorate


def db_now() -> datetime:
    """The database server's clock, the one clock that decides (DESIGN.md "One clock"): a node's
    or web server's own clock may be off by a minute. Aware, UTC, microseconds where the
    database has them (SQLite: milliseconds)."""
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SELECT UTC_TIMESTAMP(6)")
        else:
            cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
        (value,) = cursor.fetchone()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=dt_timezone.utc)


class DatabaseClock:
    """The database clock read once, then carried forward by this process's monotonic clock:
    a tick reads the database once and still waits for each post's moment by the database
    clock, whatever the host's wall clock says. `offset` is how far the host's wall clock is
    ahead of the database's (negative: behind), measured at the read."""

    def __init__(self):
        before = time.time()
        started = time.monotonic()
        self.base = db_now()
        self.base_monotonic = time.monotonic()
        # The read happened somewhere during the query: take its middle on the host's clock.
        host_at_read = before + (self.base_monotonic - started) / 2
        self.offset = host_at_read - self.base.timestamp()

    def now(self) -> datetime:
        return self.base + timedelta(seconds=time.monotonic() - self.base_monotonic)
