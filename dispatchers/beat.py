"""beat's scheduler: django-celery-beat's DatabaseScheduler (ticks visible and editable in the
admin), except that it does not pile ticks up for a node that is not running.

Celery's `expires` cannot do it: kombu's Redis transport keeps expired messages in the list,
the filesystem broker of `make run` keeps their files (and scans them all on every poll), and
expiry compares beat's clock with the worker's. So before sending a tick, beat asks the broker
how many are still waiting on the node's queue; at TICK_BACKLOG or more, the tick is not sent.
A running worker takes its ticks at once, so its queue is empty; a stopped node's holds at
most TICK_BACKLOG, whatever the time it stays stopped. Its worker, when it starts again,
drops them as repeats (services.node_heartbeat) and ticks on."""
import logging

from django_celery_beat.schedulers import DatabaseScheduler

from psched.lib.db import database_wait

from .services import TICK_TASK

logger = logging.getLogger("dispatchers")

TICK_BACKLOG = 2


class TickScheduler(DatabaseScheduler):
    _broker = None

    def __init__(self, *args, **kwargs):
        # Started while the database is down (with it, or during its outage), beat waits for
        # it: django-celery-beat would read the schedule at once and exit. (Lazy: it reads nothing.)
        if not kwargs.get("lazy"):
            database_wait(log=logger.warning)
        super().__init__(*args, **kwargs)

    def schedule_changed(self):
        """django-celery-beat reloads the schedule when its changes row's time moves forward.
        That time is the writer's clock: a node registering from a host whose clock is behind,
        or two nodes registering at once whose updates of that one row commit out of order,
        move it back, and beat went on without the new node's tick until its full sync five
        minutes later. Here any move of it counts, and so does the first time beat reads it:
        django-celery-beat takes that one as its baseline, though a node may have registered
        between beat's first read of the schedule and it."""
        last = self._last_timestamp
        changed = super().schedule_changed()  # stores the row's time as _last_timestamp
        return changed or (self._last_timestamp is not None and self._last_timestamp != last)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        queue = entry.options.get("queue")
        if entry.task == TICK_TASK and queue:
            waiting = self._queue_size(queue)
            if waiting is not None and waiting >= TICK_BACKLOG:
                logger.debug("not sending a tick to %s: %s still wait there (is its worker running?)", queue, waiting)
                return None
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)

    def _queue_size(self, queue: str) -> int | None:
        """Messages waiting on `queue`, or None when the broker did not say (then the tick is
        sent: a tick too many costs less than a node without ticks)."""
        try:
            if self._broker is None:
                self._broker = self.app.connection_for_write()
            channel = self._broker.default_channel
            try:
                return channel.queue_declare(queue=queue, passive=True).message_count
            except self._broker.channel_errors:
                # Redis says "no such queue" for an empty one; RabbitMQ closes the channel.
                self._broker_reset()
                return 0
        except Exception as error:  # each transport raises its own errors
            logger.warning("could not read the length of %s: %s", queue, error)
            self._broker_reset()
            return None

    def _broker_reset(self):
        if self._broker is not None:
            try:
                self._broker.release()
            except Exception:  # a broken connection may fail to close; it is dropped anyway
                pass
        self._broker = None
