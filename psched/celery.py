import logging
import os
import sys
import threading
import time
from functools import cached_property
from pathlib import Path

from celery import Celery, signals
from celery.apps.beat import Beat as CeleryBeat
from celery.bootsteps import RUN
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.utils.imports import load_extension_class_names, symbol_by_name

from .lib.timing import timing_gc_watch
from .startup import heap_freeze, var_dir_ensure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psched.settings")

logger = logging.getLogger("psched")

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


class Consumer(CeleryConsumer):
    """Celery's consumer, surviving the broker lost while tasks run or wait unacknowledged.

    Celery 5.7.0, on a connection error, collects the broken connection (which releases its
    transport) and then closes it as well. The close, and the acknowledgement of a task that
    finishes afterwards, reach the old channel's Redis client through that released transport
    (kombu: AttributeError "'NoneType' object has no attribute 'hostname'"), which Celery takes
    for an unrecoverable error: a node's worker stopped at a Redis restart that found a tick
    waiting for a thread. Here the connection is collected only, as Celery did before 5.7.0; the
    messages it held are given back by Redis after the visibility timeout, and they are ticks
    (the next comes within a second) or delivery tasks (ticks start them again)."""

    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        if connection is not None:
            connection.close = _collected_already  # this instance's close: see above
        super().on_connection_error_after_connected(exc)


def _collected_already() -> None:
    """Stands for close() on a connection the consumer has just collected."""


# After the worker stops, the process ends within this many seconds, stopped by an error or
# by a signal (a warm shutdown lets running ticks finish: a tick lasts a few seconds at most).
WORKER_STOP_GRACE_SECONDS = {"error": 5.0, "signal": 60.0}


def worker_exit_watch(controller, *, poll: float = 0.5, exit=os._exit) -> None:
    """Ends the process once `controller` (Celery's WorkController) has left its running state
    and the process has outlived the grace: a node's worker that stopped must not leave a process
    behind that looks alive (its liveness thread beating) but takes no tick; a supervisor
    restarts a process that exits. Seen: after an unrecoverable error the worker stopped, and a
    thread left running kept the process from ending for minutes."""
    stopped_at = None
    while True:
        time.sleep(poll)
        if controller.blueprint is None or controller.blueprint.state == RUN:
            stopped_at = None
            continue
        stopped_at = stopped_at or time.monotonic()
        code = controller.exitcode or 0
        grace = WORKER_STOP_GRACE_SECONDS["error" if code else "signal"]
        if time.monotonic() - stopped_at >= grace:
            logger.critical("the Celery worker stopped %.0f s ago and the process has not ended: exiting (%s)",
                            time.monotonic() - stopped_at, code or 1)
            logging.shutdown()
            exit(code or 1)
            return


app = PschedCelery("psched")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.worker_consumer = "psched.celery:Consumer"
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


@signals.worker_ready.connect
def worker_exit_watch_start(sender=None, **kwargs):
    """`sender`: the worker's consumer. Started once, at the first ready (a reconnect is ready again)."""
    controller = getattr(sender, "controller", None)
    if controller is None or getattr(controller, "_psched_exit_watch", False):
        return
    controller._psched_exit_watch = True
    threading.Thread(target=worker_exit_watch, args=(controller,), name="psched-worker-exit-watch", daemon=True).start()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def log_format_apply(logger, **kwargs):
    """Workers and beat install their own log handlers; give them LOG_FORMAT's formatter too."""
    from django.conf import settings

    if settings.LOG_FORMAT == "json":
        from .logformat import JsonFormatter

        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())
