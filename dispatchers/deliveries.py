"""A node's deliveries: what it sends to destinations after posts are published. Any node may
send any delivery (the claim decides, as for posts: SKIP LOCKED, a token, a lease), so a node
that stops leaves nothing stranded: its deliveries' leases expire and another node, finding
them in `sending`, reconciles them before it sends again. A plain function, as the tick is;
tasks.py forwards to it."""
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections

from destinations.services import (
    delivery_attempt,
    deliveries_claim,
    deliveries_read,
    deliveries_release_expired,
)
from psched.lib.db import DatabaseClock

logger = logging.getLogger("dispatchers")

# Sends run side by side in a few threads of the worker's process, each with its own database
# connection, kept from one task to the next.
_executor: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(settings.PSCHED_DELIVERY_THREADS, thread_name_prefix="delivery")
    return _executor


@dataclass
class DeliveryReport:
    node: str
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def _attempt(claim, delivery, clock):
    close_old_connections()  # this thread's connection, if it went stale between tasks
    try:
        return delivery_attempt(claim=claim, delivery=delivery, clock=clock)
    except Exception:  # the lease brings it back; the other sends go on
        logger.exception("delivery %s could not be recorded", claim.delivery)
        return None


# With nothing due, a delivery task keeps looking this often for this long: posts published
# meanwhile (a steady flow) are sent within a poll, not at the next tick.
IDLE_POLL_SECONDS = 0.02
IDLE_STOP_SECONDS = 2.0


def run_deliveries(*, node_name: str, seconds: float = 10.0, idle_seconds: float = IDLE_STOP_SECONDS, sleep=time.sleep) -> DeliveryReport:
    """Claims and sends due deliveries, a claim of at most PSCHED_DELIVERY_CLAIM_LIMIT at a
    time (sent by PSCHED_DELIVERY_THREADS threads, within its lease), for about `seconds`,
    or until nothing was due for `idle_seconds`; what is left waits for the next call (each
    tick asks for one when deliveries are due or posts were published)."""
    clock = DatabaseClock()
    report = DeliveryReport(node=node_name)
    stop_at = time.monotonic() + seconds
    idle_since = time.monotonic()
    deliveries_release_expired(now=clock.now())
    while time.monotonic() < stop_at:
        claims = deliveries_claim(node_name=node_name, now=clock.now(), limit=settings.PSCHED_DELIVERY_CLAIM_LIMIT)
        if not claims:
            if time.monotonic() - idle_since >= idle_seconds:
                break
            sleep(IDLE_POLL_SECONDS)
            continue
        idle_since = time.monotonic()
        report.claimed += len(claims)
        jobs = deliveries_read(claims=claims)
        for outcome in _threads().map(lambda job: _attempt(job[0], job[1], clock), jobs):
            if outcome is None:
                continue
            if outcome.state == "delivered":
                report.delivered += 1
            elif outcome.state in ("retry", "unconfirmed"):
                report.retrying += 1
            else:
                report.failed += 1
    if report.claimed:
        logger.info(
            "node %s sent %s deliveries: %s delivered, %s to retry, %s failed",
            node_name, report.claimed, report.delivered, report.retrying, report.failed,
        )
    return report
