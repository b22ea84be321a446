import pytest
from django.db import OperationalError

from psched.lib.db import retry_on_deadlock


def test_it_retries_a_deadlock():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError(1213, "Deadlock found when trying to get lock; try restarting transaction")
        return "done"

    assert retry_on_deadlock(flaky)() == "done"
    assert len(calls) == 3


def test_it_gives_up_after_the_attempts():
    def deadlock():
        raise OperationalError(1213, "Deadlock found")

    with pytest.raises(OperationalError):
        retry_on_deadlock(deadlock, attempts=2)()


def test_it_does_not_retry_other_errors():
    calls = []

    def broken():
        calls.append(1)
        raise OperationalError(1054, "Unknown column")

    with pytest.raises(OperationalError):
        retry_on_deadlock(broken)()
    assert len(calls) == 1
