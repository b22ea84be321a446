from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

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


def test_row_insert_writes_the_row_save_writes(alice, node):
    from django.db.models.signals import post_save, pre_save
    from django.forms.models import model_to_dict

    from psched.lib.db import RowInsert
    from scheduling.models import ScheduledPost

    # RowInsert sends no save signals: it is only for models nobody listens to.
    assert not pre_save.has_listeners(ScheduledPost) and not post_save.has_listeners(ScheduledPost)
    when = timezone.now() + timedelta(days=3)

    def make():
        return ScheduledPost(author=alice, text="same ✓", publish_at=when, due_at=when, timezone="Europe/Paris",
                             dispatcher=node, queued=True, series_index=None)

    saved, inserted = make(), make()
    saved.save(force_insert=True)
    RowInsert(ScheduledPost)(inserted)
    assert inserted.pk and inserted.pk != saved.pk and not inserted._state.adding
    fresh = {row.pk: row for row in ScheduledPost.objects.filter(pk__in=[saved.pk, inserted.pk])}
    ignore = {"id", "created_at", "updated_at"}

    def columns(row):
        return {key: value for key, value in model_to_dict(fresh[row.pk]).items() if key not in ignore}

    assert columns(inserted) == columns(saved)
    assert fresh[inserted.pk].created_at and fresh[inserted.pk].updated_at
    assert inserted.created_at == fresh[inserted.pk].created_at


def test_the_cached_database_clock_keeps_to_the_database(db):
    from psched.lib.db import db_now, db_now_cached, db_now_cached_forget

    db_now_cached_forget()
    before = db_now()
    cached = db_now_cached()
    after = db_now()
    # SQLite's clock has milliseconds: allow for them.
    assert before - timedelta(milliseconds=2) <= cached <= after + timedelta(milliseconds=2)
