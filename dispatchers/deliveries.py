"""A node's deliveries: what it sends to destinations after posts are published. Any node may
send any delivery (the claim decides, as for posts: SKIP LOCKED, a token, a lease), so a node
that stops leaves nothing stranded: its deliveries' leases expire and another node, finding
them in `sending`, reconciles them before it sends again. A claim's sends run side by side in
threads that only talk to the network; this thread reads and records them (one transaction
per claim). A plain function, as the tick is; tasks.py forwards to it."""
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection

from destinations.services import (
    deliveries_claim,
    deliveries_claim_ids,
    deliveries_lease_renew,
    deliveries_read,
    deliveries_record,
    deliveries_release_expired,
    delivery_send,
)
from psched.lib.db import DatabaseClock, is_retryable

logger = logging.getLogger("dispatchers")

# Sends run side by side in a few threads of the worker's process, kept from one task to the next.
_executor: ThreadPoolExecutor | None = None


_executor_lock = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _executor_lock:  # the loop's thread and a publishing answer's (deliveries_fresh_send)
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
    # Stopped at its time limit rather than for want of work: another task should follow now.
    more: bool = False


# Set when this process published posts (deliveries_wake): its delivery loop, waiting for
# work, looks at once instead of at its next poll.
_wake = threading.Event()
_loops = {"running": 0}  # delivery loops running in this process
_loops_lock = threading.Lock()


def deliveries_wake() -> bool:
    """Wakes this process's delivery loop; False when none is running here (the caller asks
    for a delivery task instead)."""
    with _loops_lock:
        _wake.set()
        return _loops["running"] > 0


# Fresh deliveries claimed and sent by another thread (deliveries_fresh_send), whose outcomes
# a loop records: (the sends' futures, the claims). "accepting": loops running here that take
# them (with a clock they lend); "handing": handoffs claiming meanwhile.
_handed: list[tuple[list, list]] = []
_handoff = {"accepting": 0, "handing": 0, "clock": None}


def _loop_stop() -> bool:
    """The loop stops unless a wake-up came meanwhile, or a handoff is under way or waits to be
    recorded: then it goes on (its waker counted on it)."""
    with _loops_lock:
        if _wake.is_set() or _handoff["handing"] or _handed:
            return False
        _loops["running"] -= 1
        _handoff["accepting"] -= 1
        return True


def _handoff_close() -> bool:
    """The loop takes no new handoffs (it is ending); True while one is still under way or
    waits to be recorded."""
    with _loops_lock:
        _handoff["accepting"] -= 1
        return bool(_handoff["handing"] or _handed)


def _handed_take() -> tuple[list, list]:
    with _loops_lock:
        taken = list(_handed)
        _handed.clear()
    return [future for futures, _ in taken for future in futures], [claim for _, claims in taken for claim in claims]


def deliveries_fresh_send(*, node_name: str, ids: list[int]) -> bool:
    """The deliveries a publishing callback just answered (committed with their posts) claimed
    by their ids (deliveries_claim_ids: one UPDATE, no search) and sent at once from the
    delivery threads, without waiting for the loop, which may be recording its last claim's
    outcomes: the loop records these as its own (and renews their lease meanwhile). False,
    and nothing is done, when no loop takes them here, when there are more than a claim's
    worth (a burst: the loop's claims share them between the nodes), or when the database
    failed the claim: the caller wakes the loop (or asks for a task), whose claim finds them.
    Any that another node claimed first are its to send."""
    with _loops_lock:
        clock = _handoff["clock"]
        if not ids or not _handoff["accepting"] or clock is None or len(ids) > settings.PSCHED_DELIVERY_CLAIM_LIMIT:
            return False
        _handoff["handing"] += 1
    claims, sending = [], []
    try:
        # The answer's thread (a tick's sender) keeps its connection between answers: one that
        # failed or outlived CONN_MAX_AGE is replaced, as a request's or a task's would be.
        connection.close_if_unusable_or_obsolete()
        try:
            claims = deliveries_claim_ids(node_name=node_name, ids=ids, now=clock.now())
        except OperationalError as error:
            if not is_retryable(error):
                raise
            # A deadlock with a claim or a publishing beside it (the UPDATE was rolled back): once more.
            claims = deliveries_claim_ids(node_name=node_name, ids=ids, now=clock.now())
        if claims:
            sending = [_threads().submit(_send, claim, delivery, clock) for claim, delivery in deliveries_read(claims=claims)]
        return True
    except DatabaseError:
        # A claim that committed all the same is sent once its lease ends (unconfirmed, reconciled).
        logger.warning("could not claim %s fresh deliveries by their ids; the loop looks for them", len(ids), exc_info=True)
        connection.close()  # this thread's, maybe broken: the next use opens another
        return False
    finally:
        with _loops_lock:
            _handoff["handing"] -= 1
            if claims:
                _handed.append((sending, claims))


def _send(claim, delivery, clock):
    outcome = delivery_send(claim=claim, delivery=delivery, clock=clock)
    return claim, delivery, outcome, clock.now()


# With nothing due, a delivery task keeps looking this often for this long: posts published
# meanwhile (a steady flow) are sent within a poll, not at the next tick.
IDLE_POLL_SECONDS = 0.02
IDLE_STOP_SECONDS = 2.0


class _Leases:
    """The leases of the claims a loop holds, renewed every quarter of a lease while their sends
    run: a claim may take longer than its lease (the next claim waits for the previous one's
    sends, a loaded machine sends slowly), and another node must not take a live node's sends
    for a dead one's and reconcile them meanwhile. A node that stops renews nothing: its
    leases end as before."""

    def __init__(self, clock):
        self.clock = clock
        self.renewed = time.monotonic()

    def results(self, futures, *, held) -> list:
        every = settings.PSCHED_DELIVERY_LEASE_SECONDS / 4
        while True:
            _, running = wait(futures, timeout=max(0.0, self.renewed + every - time.monotonic()))
            if not running:
                return [future.result() for future in futures]
            try:
                deliveries_lease_renew(claims=held, now=self.clock.now())
            except DatabaseError:  # the sends go on; at worst their leases end, as a stopped node's
                logger.warning("could not renew the lease of %s claimed deliveries", len(held), exc_info=True)
            self.renewed = time.monotonic()


def _record(report: DeliveryReport, results) -> None:
    deliveries_record(results=results)
    for _, _, outcome, _ in results:
        if outcome.state == "delivered":
            report.delivered += 1
        elif outcome.state in ("retry", "unconfirmed"):
            report.retrying += 1
        else:
            report.failed += 1


def run_deliveries(*, node_name: str, seconds: float = 10.0, idle_seconds: float = IDLE_STOP_SECONDS, sleep=None) -> DeliveryReport:
    """Claims and sends due deliveries, a claim of at most PSCHED_DELIVERY_CLAIM_LIMIT at a
    time (sent by PSCHED_DELIVERY_THREADS threads, within its lease), for about `seconds`,
    or until nothing was due for `idle_seconds`; what is left waits for the next call (each
    tick asks for one when deliveries are due or posts were published). While nothing is due
    it looks every IDLE_POLL_SECONDS, and at once when this process publishes posts
    (deliveries_wake); `sleep` replaces that wait (tests)."""
    with _loops_lock:
        _loops["running"] += 1
    stopped = False
    try:
        report = _run(node_name=node_name, seconds=seconds, idle_seconds=idle_seconds, sleep=sleep)
        stopped = True
        return report
    finally:
        if not stopped:  # an error: the loop is not running any more
            with _loops_lock:
                _loops["running"] -= 1


def _run(*, node_name: str, seconds: float, idle_seconds: float, sleep) -> DeliveryReport:
    clock = DatabaseClock()
    report = DeliveryReport(node=node_name)
    stop_at = time.monotonic() + seconds
    idle_since = time.monotonic()
    deliveries_release_expired(now=clock.now())
    with _loops_lock:
        _handoff["accepting"] += 1
        _handoff["clock"] = clock
    accepting = True  # this loop records handoffs (deliveries_fresh_send)
    in_flight = []  # the previous claim's sends: the next claim is made and read meanwhile
    in_flight_claims, leases = [], _Leases(clock)
    limit = settings.PSCHED_DELIVERY_CLAIM_LIMIT
    expected = True  # work is likely there (just started, woken, a full claim): no look first
    try:
        while True:
            claims = []
            if time.monotonic() < stop_at:
                _wake.clear()  # a wake-up from now on is for what this claim may not see
                claims = deliveries_claim(node_name=node_name, now=clock.now(), limit=limit, look_first=not expected)
            sending = [_threads().submit(_send, claim, delivery, clock) for claim, delivery in deliveries_read(claims=claims)] if claims else []
            expected = len(claims) >= limit
            # What deliveries_fresh_send claimed and sent meanwhile is recorded with this claim.
            handed_sends, handed_claims = _handed_take()
            sending, claims = sending + handed_sends, claims + handed_claims
            report.claimed += len(claims)
            if in_flight:
                _record(report, leases.results(in_flight, held=in_flight_claims + claims))
            in_flight, in_flight_claims = sending, claims
            if claims:
                idle_since = time.monotonic()
                continue
            if time.monotonic() >= stop_at:
                if accepting:
                    accepting = False
                    if _handoff_close():
                        continue  # what was handed over is recorded first
                elif _handoff["handing"] or _handed:
                    time.sleep(0.005)
                    continue
                report.more = True  # the task asks for the next one at once, which sees what any wake-up was for
                with _loops_lock:
                    _loops["running"] -= 1
                break
            if time.monotonic() - idle_since >= idle_seconds:
                if _loop_stop():
                    accepting = False
                    break
                continue
            if sleep is None:
                expected = _wake.wait(IDLE_POLL_SECONDS)
            else:
                sleep(IDLE_POLL_SECONDS)
    finally:
        if accepting:  # an error: this loop takes no more handoffs
            with _loops_lock:
                _handoff["accepting"] -= 1
    if report.claimed:
        logger.info(
            "node %s sent %s deliveries: %s delivered, %s to retry, %s failed",
            node_name, report.claimed, report.delivered, report.retrying, report.failed,
        )
    return report
