"""Database helpers shared by the apps."""
import random
import time
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
