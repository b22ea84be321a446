import logging
import os

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from destinations.services import deliveries_due_exist, deliveries_release_expired
from psched.lib.db import db_now_cached

from .deliveries import deliveries_fresh_send, deliveries_wake, run_deliveries
from .tick import run_tick
from .worker import beat_tick_received, current_prefix

logger = logging.getLogger("dispatchers")
DELIVER_TASK = "dispatchers.deliver"
# How long one delivery task runs before it hands over to the next one.
DELIVER_SECONDS = 10.0


def _is_this_node(node_name: str, what: str) -> bool:
    # A worker runs one node (run_dispatcher sets these); a stray task for another is dropped.
    if node_name != os.environ.get("PSCHED_NODE_NAME"):
        logger.warning("dropped a %s for node %s on the worker of %s", what, node_name, os.environ.get("PSCHED_NODE_NAME"))
        return False
    return True


@shared_task(name="dispatchers.tick", ignore_result=True, acks_late=False)
def tick(node_name: str) -> None:
    if not _is_this_node(node_name, "tick"):
        return
    beat_tick_received()
    node_tick(node_name)


def node_tick(node_name: str, *, from_beat: bool = True) -> None:
    """A tick of this worker's node: from beat (the task above), or from the worker itself
    while beat is silent (dispatchers.worker.self_ticks_start)."""
    report = run_tick(
        node_name=node_name, credential=os.environ["PSCHED_NODE_CREDENTIAL"], worker=current_prefix(),
        on_published=lambda deliveries: deliveries_published(node_name=node_name, deliveries=deliveries),
        from_beat=from_beat,
    )
    if report.dropped:
        return
    # Deliveries whose sender died mid-send are due again (unconfirmed) once their lease is over.
    now = db_now_cached()
    if report.published or deliveries_release_expired(now=now) or deliveries_due_exist(now=now):
        deliveries_kick(node_name=node_name)


def deliveries_published(*, node_name: str, deliveries: list[int] = ()) -> None:
    """Posts were just published (their deliveries are in the outbox): the deliveries the answer
    named are claimed by their ids and sent at once, from this thread, when a delivery loop runs
    here (it records them); otherwise this process's delivery loop looks at once, and when none
    runs here, a delivery task is asked for now rather than when the tick ends (a tick
    publishing a second's posts holds its thread for that second)."""
    if deliveries and deliveries_fresh_send(node_name=node_name, ids=list(deliveries)):
        return
    if not deliveries_wake():
        deliveries_kick(node_name=node_name)


def _deliver_key(node_name: str) -> str:
    return f"dispatchers:deliver:{node_name}"


def deliveries_kick(*, node_name: str) -> bool:
    """Queues one delivery task on the node's own queue, unless one is queued or running: ticks
    come every second, a delivery task runs for up to DELIVER_SECONDS. The mark expires on its
    own, so a worker killed mid-task stops no one for long."""
    expires = DELIVER_SECONDS + 2 * settings.PSCHED_WEBHOOK_TOTAL_TIMEOUT + 5
    if not cache.add(_deliver_key(node_name), 1, timeout=expires):
        return False
    deliver.apply_async(args=[node_name], queue=f"dispatch.{node_name}")
    return True


# Not acks_late: the rows hold the deliveries' state; a lost task is replaced by the next tick's.
@shared_task(name=DELIVER_TASK, ignore_result=True, acks_late=False)
def deliver(node_name: str) -> None:
    if not _is_this_node(node_name, "delivery task"):
        return
    report = None
    try:
        report = run_deliveries(node_name=node_name, seconds=DELIVER_SECONDS)
    finally:
        cache.delete(_deliver_key(node_name))
    if report.more:  # a steady flow: the next task starts now, not at the next tick
        deliveries_kick(node_name=node_name)
