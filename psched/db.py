"""Transient database errors: a deadlock or lock wait time-out rolls the transaction back and
is worth one more try; after a few, the caller answers 503 and the client retries later."""
import random
import time

from django.db import OperationalError

# MySQL/MariaDB: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
TRANSIENT_MYSQL_CODES = {1205, 1213}


def is_transient(error: OperationalError) -> bool:
    code = error.args[0] if error.args else None
    return code in TRANSIENT_MYSQL_CODES or "database is locked" in str(error)


def retry_transient(fn, *, attempts: int = 3):
    """Runs fn() (a whole transaction) again when the database reports a transient error."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as error:
            if attempt == attempts or not is_transient(error):
                raise
            time.sleep(random.uniform(0.01, 0.05) * attempt)
