import os
from pathlib import Path

from celery import Celery, signals

from .startup import var_dir_ensure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psched.settings")

app = Celery("psched")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def broker_folders_ensure(sender, source, **kwargs):
    """The file-system broker (the default in development) needs its folders before the first message."""
    options = source.get("broker_transport_options") or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if key in options:
            var_dir_ensure(Path(options[key]))


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def log_format_apply(logger, **kwargs):
    """Workers and beat install their own log handlers; give them LOG_FORMAT's formatter too."""
    from django.conf import settings

    if settings.LOG_FORMAT == "json":
        from .logformat import JsonFormatter

        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())
