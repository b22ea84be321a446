import importlib
from datetime import timedelta

from django.apps import apps
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from scheduling.models import ScheduledPost
from scheduling.series import series_create, series_stop
from scheduling.tasks import JOBS_QUEUE, series_materialize


def start_tomorrow():
    return (timezone.now() + timedelta(days=1)).replace(tzinfo=None, microsecond=0).isoformat()


def test_it_registers_the_job_with_beat(db):
    migration = importlib.import_module("scheduling.migrations.0003_series_materialize_task")
    migration.create_task(apps, None)
    migration.create_task(apps, None)  # again: still one
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    assert task.task == series_materialize.name == "scheduling.series_materialize"
    assert task.queue == JOBS_QUEUE and task.enabled and task.interval.every == 300


def test_the_job_materializes_what_falls_due_and_skips_stopped_series(alice, settings):
    settings.PSCHED_SERIES_AHEAD_SECONDS = 2 * 86400
    endless = series_create(author=alice, text="daily", start=start_tomorrow(), timezone_name="UTC", rrule_text="FREQ=DAILY")
    stopped = series_create(author=alice, text="stopped", start=start_tomorrow(), timezone_name="UTC", rrule_text="FREQ=DAILY")
    series_stop(series_id=stopped.pk, author=alice)
    made = ScheduledPost.objects.filter(series=endless).count()
    assert made == 2  # tomorrow and the day after
    settings.PSCHED_SERIES_AHEAD_SECONDS = 5 * 86400
    series_materialize()  # the Celery task, run in process
    assert ScheduledPost.objects.filter(series=endless).count() == 5
    assert list(ScheduledPost.objects.filter(series=endless).order_by("publish_at").values_list("series_index", flat=True)) == [1, 2, 3, 4, 5]
    assert not ScheduledPost.objects.filter(series=stopped).exclude(status="cancelled").exists()


def test_it_makes_up_for_occurrences_missed_while_the_job_was_away(alice):
    series = series_create(author=alice, text="daily", start=start_tomorrow(), timezone_name="UTC", rrule_text="FREQ=DAILY;COUNT=20")
    before = ScheduledPost.objects.filter(series=series).count()
    # Ten days later the job runs again: nothing between is lost, the rest of the window is made.
    from scheduling.series import series_materialize_due

    series_materialize_due(now=timezone.now() + timedelta(days=10))
    indexes = list(ScheduledPost.objects.filter(series=series).order_by("series_index").values_list("series_index", flat=True))
    assert indexes == list(range(1, 18)) and before < 17
