from celery import shared_task

from .series import series_materialize_due

# The queue every dispatcher worker also consumes (run_dispatcher), for jobs that are not a
# node's own; the beat entry is created by migration 0003.
JOBS_QUEUE = "scheduling.jobs"


@shared_task(name="scheduling.series_materialize", ignore_result=True)
def series_materialize() -> None:
    series_materialize_due()
