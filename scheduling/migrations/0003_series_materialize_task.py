"""The periodic job that turns series occurrences into scheduled posts ahead of time. A row in
django-celery-beat, so it is visible and editable in the admin like the ticks; every
dispatcher worker also consumes its queue (see run_dispatcher)."""
from django.db import migrations

TASK_NAME = "scheduling: materialize series"


def create_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval = IntervalSchedule.objects.filter(every=300, period="seconds").order_by("pk").first()
    if interval is None:
        interval = IntervalSchedule.objects.create(every=300, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "scheduling.series_materialize",
            "interval": interval,
            "queue": "scheduling.jobs",
            "routing_key": "scheduling.jobs",
            "exchange": "scheduling.jobs",
            "expire_seconds": 240,
            "enabled": True,
            "description": "Creates the scheduled posts of every active series due in the next days.",
        },
    )


def delete_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("scheduling", "0002_drafts_queue_series"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_task, delete_task)]
