import os
import sys
from functools import cached_property
from pathlib import Path

from celery import Celery, signals
from celery.apps.beat import Beat as CeleryBeat
from celery.utils.imports import load_extension_class_names, symbol_by_name

from .lib.timing import timing_gc_watch
from .startup import heap_freeze, var_dir_ensure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psched.settings")

SCHEDULER = "dispatchers.beat:TickScheduler"
BEAT_COMMAND = ".venv/bin/celery -A psched beat"


class Beat(CeleryBeat):
    """`celery beat` that refuses any scheduler but psched's (or one built on it): with
    django-celery-beat's own DatabaseScheduler a node registered after beat started got no
    tick until its five-minute sync, and its posts waited."""

    def run(self):
        scheduler_check(self.scheduler_cls)
        super().run()


def scheduler_check(scheduler) -> None:
    """Exits with one line naming the right command unless `scheduler` (a class, a path or an
    alias such as "django") is psched's TickScheduler or a subclass of it."""
    import django

    django.setup()  # the scheduler's module imports models
    from dispatchers.beat import TickScheduler

    aliases = dict(load_extension_class_names("celery.beat_schedulers"))
    try:
        scheduler_class = symbol_by_name(scheduler, aliases=aliases)
    except (ImportError, AttributeError, ValueError):
        scheduler_class = None
    if not (isinstance(scheduler_class, type) and issubclass(scheduler_class, TickScheduler)):
        name = scheduler if isinstance(scheduler, str) else f"{scheduler.__module__}:{scheduler.__qualname__}"
        sys.exit(f"psched: beat runs only with psched's scheduler ({SCHEDULER}), not {name}: "
                 f"start it with `{BEAT_COMMAND}` (no -S option).")


class PschedCelery(Celery):
    @cached_property
    def Beat(self, **kwargs):
        return self.subclass_with_self(Beat)


app = PschedCelery("psched")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def broker_folders_ensure(sender, source, **kwargs):
    """The file-system broker (the default in development) needs its folders before the first message."""
    options = source.get("broker_transport_options") or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if key in options:
            var_dir_ensure(Path(options[key]))


@signals.worker_ready.connect
def heap_settle(**kwargs):
    """A node's worker has loaded its tasks and connections: freeze its heap (startup.heap_freeze)."""
    heap_freeze()
    timing_gc_watch()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def log_format_apply(logger, **kwargs):
    """Workers and beat install their own log handlers; give them LOG_FORMAT's formatter too."""
    from django.conf import settings

    if settings.LOG_FORMAT == "json":
        from .logformat import JsonFormatter

        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())
