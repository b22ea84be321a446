"""The tick: what a dispatcher node does each time beat pokes it. A plain function, so tests
can call it; the Celery task in tasks.py only forwards to it."""
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import DatabaseError, connection

from psched.lib.db import DatabaseClock
from psched.lib.timing import timing_enabled, timing_record

from scheduling.publishing import Claim

from .models import DispatcherNode
from .services import (
    WorkerGone,
    claim_due_posts,
    claim_token_new,
    claims_find,
    claims_record_failure,
    may_judge_others,
    node_credential_touch,
    node_heartbeat,
    node_tick_record,
    sweep,
)

logger = logging.getLogger("dispatchers")
# A tick sends its batches from these threads, so that one slow answer (a commit that waits on
# the disk) does not hold back the batches due after it: at most SEND_PARALLEL of a tick's
# requests are in flight. Their answers are read back in the tick's own thread, each as it
# comes (_finish_answered), not oldest first.
SEND_PARALLEL = 8
_senders = ThreadPoolExecutor(max_workers=SEND_PARALLEL, thread_name_prefix="psched-send")


def _session_new() -> requests.Session:
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=2 * SEND_PARALLEL))
    session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=2 * SEND_PARALLEL))
    return session


# The callbacks' kept-alive connections. Replaced (not closed: other threads may be using it)
# when one of them hung or broke: its siblings may lead to the same sick web server, so the
# next callbacks, a failed batch's retry among them, open fresh connections.
_session = _session_new()


def _session_renew(stale: requests.Session) -> None:
    global _session
    if _session is stale:
        _session = _session_new()


@dataclass
class TickReport:
    node: str
    claimed: int = 0
    published: int = 0
    refused: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    # A repeat of a tick that just ran (two beats, a backlog): it did nothing.
    dropped: bool = False
    # Called after each batch that published posts (their deliveries are in the outbox now),
    # with the ids of the deliveries the answer named: the node starts sending them at once,
    # not when the tick ends.
    on_published: Callable[[list[int]], None] | None = field(default=None, repr=False, compare=False)


def claim_serialize(claim: Claim) -> dict:
    """A claim as the callback's body carries it (dispatchers.api.claims_clean reads it back)."""
    return {"scheduled_post": claim.scheduled_post, "claim_token": claim.claim_token, "version": claim.version}


def publish_callback(*, node_name: str, credential: str, claims: list[Claim], at: datetime | None = None,
                     session: requests.Session | None = None, timeout: float | None = None) -> list[dict]:
    """POSTs claims to the main side's /api/posts/ and returns its per-item results: with
    ?answer=ids each is {scheduled_post, post} or {scheduled_post, error} (the node has no use
    for whole posts). `at`: the instant the main side starts publishing (the batch is sent a
    little ahead of it). `session`: the connections to use (the shared pool by default).
    Raises requests.RequestException when the call did not get an answer it can use."""
    body = [claim_serialize(claim) for claim in claims]
    response = (session or _session).post(
        f"{settings.PSCHED_API_URL}/api/posts/",
        params={"answer": "ids", **({"at": at.isoformat()} if at else {})},
        json=body,
        headers={"Authorization": f"Node {node_name}:{credential}"},
        timeout=timeout or settings.PSCHED_CALLBACK_TIMEOUT,
    )
    # 409 and a list-shaped 403 are answers per claim (edited, cancelled, taken over by
    # another node); anything else (5xx, a refused credential) did not get through.
    if response.status_code in (200, 201, 409, 403):
        results = response.json()
        if isinstance(results, list):
            return results
    raise requests.HTTPError(f"POST /api/posts/ answered {response.status_code}: {response.text[:300]}")


def _in_thread(function: Callable[[], object]) -> Future:
    """Runs function in a thread of its own: an attempt left behind by a faster one runs on
    until its timeout, and must hold back nobody's attempts (no pool to queue in)."""
    future = Future()
    future.set_running_or_notify_cancel()

    def run():
        try:
            future.set_result(function())
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, daemon=True, name="psched-callback").start()
    return future


class HedgeBudget:
    """A token bucket that bounds the hedges of one node process, so that they cannot double
    the load of a web tier that is slow for everyone: each callback earns `ratio` of a token,
    up to `burst` tokens (the bucket starts full), and each hedge spends one. Over any stretch
    the hedges are at most ratio × callbacks + burst. Without arguments it reads
    PSCHED_CALLBACK_HEDGE_RATIO and PSCHED_CALLBACK_HEDGE_BURST at each use."""

    def __init__(self, *, ratio: float | None = None, burst: float | None = None):
        self._ratio, self._burst = ratio, burst
        self._tokens: float | None = None  # full, once the burst is known
        self._lock = threading.Lock()

    @property
    def ratio(self) -> float:
        return settings.PSCHED_CALLBACK_HEDGE_RATIO if self._ratio is None else self._ratio

    @property
    def burst(self) -> float:
        return settings.PSCHED_CALLBACK_HEDGE_BURST if self._burst is None else self._burst

    @property
    def tokens(self) -> float:
        with self._lock:
            return self._level()

    def _level(self) -> float:
        if self._tokens is None:
            self._tokens = float(self.burst)
        return min(self._tokens, float(self.burst))

    def earn(self) -> None:
        """A callback is sent."""
        with self._lock:
            self._tokens = min(float(self.burst), self._level() + self.ratio)

    def spend(self) -> bool:
        """A hedge would be sent: True when the budget allows it (and takes its token)."""
        with self._lock:
            level = self._level()
            if level < 1 - 1e-9:  # ten tenths make a hedge, whatever the floats' rounding
                self._tokens = level
                return False
            self._tokens = level - 1
            return True


# This process's hedges (its tick threads share it).
_hedge_budget = HedgeBudget()


def callback_hedged(send: Callable[[bool, float], object], *, timeout: float, hedge_after: float, hedges: int,
                    on_stuck: Callable[[], None] | None = None, budget: HedgeBudget | None = None):
    """Calls send(fresh, timeout) and returns its answer; while no attempt has answered,
    calls it again every `hedge_after` seconds (at most `hedges` more times) with fresh=True,
    to be sent on a new connection, and returns whichever answer comes first. An attempt
    that fails leaves the others to answer; when all failed, raises the first one's error, and
    requests.Timeout when none answered within `timeout` of the first. `on_stuck`: called once when the
    first attempt (on a kept-alive connection) was outwaited or failed by the network.
    `budget`: the hedges allowed (HedgeBudget; None: no limit). The call earns its share; a hedge
    the budget refuses is not sent, and the call waits for the attempts in flight instead (it
    asks again at the next hedge instant).

    Sending a batch twice is safe: the callback publishes each claim once (a repeat finds
    the post published and returns it; scheduling.publishing locks the rows, so two attempts
    at once wait for each other), so the node takes the answer of either."""
    started = time.monotonic()
    deadline = started + timeout
    if budget is not None:
        budget.earn()
    first = _in_thread(lambda: send(False, timeout))
    # `slots`: the hedge instants passed, whether the budget let a hedge go at each or not.
    in_flight, errors, slots, stuck, refused = {first}, {}, 1, False, False
    while True:
        hedge_at = started + slots * hedge_after
        hedging = hedge_after > 0 and slots <= hedges and hedge_at < deadline
        # The deadline bounds the whole call: a request's own timeout bounds each read only,
        # and a crawling link can keep one going far longer.
        done, in_flight = wait(in_flight, timeout=max(0.0, (hedge_at if hedging else deadline) - time.monotonic()),
                               return_when=FIRST_COMPLETED)
        for attempt in done:
            if attempt.exception() is None:
                return attempt.result()
            errors[attempt] = attempt.exception()
        outwaited = hedging and first in in_flight and time.monotonic() >= hedge_at
        broken = first in errors and not isinstance(errors[first], requests.HTTPError)
        if on_stuck is not None and not stuck and (outwaited or broken):
            stuck = True
            on_stuck()
        if not in_flight:
            raise errors.get(first) or next(iter(errors.values()))
        if time.monotonic() >= deadline:
            # Left behind: an attempt that commits later is harmless (the failure recorded
            # releases the claims, whose token it then no longer holds).
            raise requests.Timeout(f"POST /api/posts/ did not answer within {timeout} s")
        if hedging and time.monotonic() >= hedge_at:
            slots += 1
            if budget is not None and not budget.spend():
                if not refused:
                    refused = True
                    logger.warning("the callback has not answered, and the hedge budget is spent: waiting for it")
                continue
            left = deadline - time.monotonic()
            in_flight.add(_in_thread(lambda left=left: send(True, left)))


def _publish_batch(node: DispatcherNode, credential: str, batch: list[Claim], report: TickReport, *, clock, at=None,
                   stages: dict | None = None) -> Callable[[], None]:
    """Sends the batch from a sender thread and returns what finishes it: waiting for the
    answer and recording it (in the caller's thread, which owns the database connection).
    `stages`: the instants of the tick and the claim this batch came from, for the timing log."""
    sent = clock.now()
    pooled = _session

    def attempt(fresh: bool, timeout: float) -> list[dict]:
        if not fresh:
            return publish_callback(node_name=node.name, credential=credential, claims=batch, at=at, session=pooled,
                                    timeout=timeout)
        # A new connection, so that a balancer may pick another web server than the stuck one.
        logger.warning("node %s: the callback of %s posts has not answered; sending it again on a new connection",
                       node.name, len(batch))
        with _session_new() as session:
            return publish_callback(node_name=node.name, credential=credential, claims=batch, at=at, session=session,
                                    timeout=timeout)

    def send() -> tuple[list[dict], datetime]:
        results = callback_hedged(
            attempt, timeout=settings.PSCHED_CALLBACK_TIMEOUT, hedge_after=settings.PSCHED_CALLBACK_HEDGE_MS / 1000,
            hedges=settings.PSCHED_CALLBACK_HEDGES, on_stuck=lambda: _session_renew(pooled), budget=_hedge_budget,
        )
        answered = clock.now()
        # What the batch sets off (its deliveries, committed with it) starts here, as the answer
        # comes: the tick's own thread may be busy finishing another batch, or sleeping until
        # the next batch's time.
        if report.on_published is not None and any("error" not in result for result in results if isinstance(result, dict)):
            _published_notify(node, report, [
                pk for result in results if isinstance(result, dict) and isinstance(result.get("deliveries"), list)
                for pk in result["deliveries"] if isinstance(pk, int)
            ])
        return results, answered

    answer = _senders.submit(send)

    def finish() -> None:
        try:
            results, answered = answer.result()
        except (requests.RequestException, ValueError) as error:
            _batch_failed(node, batch, report, error, clock=clock)
            return
        if timing_enabled():
            timing_record("batch", node=node.name, ids=[claim.scheduled_post for claim in batch], due=batch[0].due_at,
                          at=at, **(stages or {}), sent=sent, answered=answered)
        refused = sum("error" in result for result in results)
        report.refused += refused
        report.published += len(results) - refused
        logger.info("node %s published %s posts (%s refused) in one batch", node.name, len(results) - refused, refused)

    finish.answer = answer
    return finish


def _published_notify(node: DispatcherNode, report: TickReport, deliveries: list[int]) -> None:
    try:
        report.on_published(deliveries)
    except Exception as error:  # the broker or the cache away: the next tick starts them
        logger.warning("node %s: could not start the deliveries of a published batch now (%s)", node.name, error)


def _finish_answered(in_flight: list, seconds: float | None) -> float:
    """Waits up to `seconds` (None: for as long as it takes) for the answers of the batches in
    flight, finishing each as it comes, whichever batch it is: one slow callback holds back
    neither the results of the batches sent after it nor, once SEND_PARALLEL are in flight,
    the next sends. With seconds=None it returns once one batch at least is finished (each
    answer comes within PSCHED_CALLBACK_TIMEOUT). Returns the seconds left of the wait."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while in_flight:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        # A finish without an answer to wait for (a test's stand-in) is finished at once.
        answers = [getattr(finish, "answer", None) for finish in in_flight]
        if None in answers:
            done = {None}
        else:
            done, _ = wait(answers, timeout=left, return_when=FIRST_COMPLETED)
        if not done:
            break
        # Several answered meanwhile: finished in the order they were sent.
        for finish in [finish for finish, answer in zip(in_flight, answers) if answer in done]:
            in_flight.remove(finish)
            finish()
        if deadline is None:
            break
    return 0.0 if deadline is None else max(0.0, deadline - time.monotonic())


def _batch_failed(node: DispatcherNode, batch: list[Claim], report: TickReport, error: Exception, *, clock) -> None:
    try:
        claims_record_failure(node=node, claims=batch, error=str(error) or error.__class__.__name__, now=clock.now())
    except DatabaseError as database_error:
        # The database is away too (the callback failed for it): the claims stay ours, so
        # the next ticks send them again instead of leaving them to their lease.
        deadline = time.monotonic() + settings.PSCHED_LEASE_SECONDS
        _carried.extend((node.pk, claim, deadline) for claim in batch)
        connection.close()
        logger.warning("node %s: could not record the failure of %s posts (%s); sending them again at the next tick",
                       node.name, len(batch), database_error)
    report.failed += len(batch)
    report.errors.append(str(error))


def run_tick(*, node_name: str, credential: str, sleep=time.sleep, worker: str | None = None,
             on_published: Callable[[], None] | None = None, from_beat: bool = True) -> TickReport:
    """Heartbeat, sweep, claim what falls due before the next tick, then publish each batch at
    its time. Posts due later in this tick wait in the claim (the lease covers it).
    Every instant is the database's: read once here, carried forward by the monotonic clock,
    so a host whose wall clock is a minute off ticks exactly like one that is not.
    `worker`: the claim prefix of this process's worker (dispatchers.worker). `on_published`:
    called after each batch that published posts. `from_beat`: False for a tick the worker
    made by itself while beat was silent."""
    started = time.monotonic()
    clock = DatabaseClock()
    now = clock.now()
    report = TickReport(node=node_name, on_published=on_published)
    beat = node_heartbeat(name=node_name, now=now, clock_offset=clock.offset, from_beat=from_beat)
    if beat is None:
        report.dropped = True
        logger.info("node %s dropped a repeated tick", node_name)
        return report
    node, previous_tick, nodes = beat
    node_credential_touch(node=node, secret=credential, now=now)
    sweep(now=now, nodes=nodes, judge_others=may_judge_others(now=now, previous_tick=previous_tick))
    _unresolved_publish(node, credential, report, clock=clock, sleep=sleep)
    if node.state == DispatcherNode.State.ACTIVE:
        try:
            others = [other.pk for other in nodes if other.pk != node.pk]
            _claim_and_publish(node, credential, report, clock=clock, sleep=sleep, worker=worker, tick_at=now, others=others)
        except WorkerGone:
            # Its claims were released; the heartbeat thread registers it again.
            logger.warning("node %s: this worker (%s) was judged gone; it claims again once registered anew", node_name, worker)
    node_tick_record(node=node, duration_ms=round((time.monotonic() - started) * 1000))
    return report


# Claims whose COMMIT's answer this process lost: {token: (node id, monotonic deadline)}.
# Each tick looks for their rows until it finds out, or the lease would have ended.
_unresolved: dict[str, tuple[int, float]] = {}
# Claims whose callback failed and whose failure could not be recorded: (node id, claim,
# monotonic deadline). The next tick sends them again; a claim released meanwhile is refused.
_carried: list[tuple[int, Claim, float]] = []


def _claim(node: DispatcherNode, *, now, horizon, backlog: bool, worker: str | None, others: list[int]) -> list[Claim]:
    """claim_due_posts, and when the connection breaks around its COMMIT (which may or may
    not have been applied), the rows found by the claim token: without this they waited for
    their lease. What cannot be found out yet is left to the next ticks (_unresolved)."""
    token = claim_token_new(worker=worker)
    try:
        return claim_due_posts(
            node=node, now=now, horizon=horizon, limit=settings.PSCHED_CLAIM_LIMIT, backlog=backlog, worker=worker, token=token,
            others=others,
        )
    except DatabaseError as error:
        _unresolved[token] = (node.pk, time.monotonic() + settings.PSCHED_LEASE_SECONDS + settings.PSCHED_TICK_SECONDS)
        logger.warning("node %s: claim %s got no answer (%s); looking for its rows", node.name, token, error)
    for delay in (0.1, 0.5, 1.0):
        time.sleep(delay)
        connection.close()  # the broken one; the next query opens another
        try:
            claims = claims_find(node=node, token=token)
        except DatabaseError:
            continue
        _unresolved.pop(token, None)
        if claims:
            logger.warning("node %s: claim %s had committed: %s posts found by its token", node.name, token, len(claims))
        return claims
    raise DatabaseError(f"claim {token}: the database did not answer; the next ticks look for its rows")


def _unresolved_publish(node: DispatcherNode, credential: str, report: TickReport, *, clock, sleep) -> None:
    """Publishes what claims of earlier ticks hold whose COMMIT's answer was lost, and the
    claims whose failure could not be recorded."""
    now = time.monotonic()
    carried = [claim for node_id, claim, deadline in _carried if node_id == node.pk and deadline > now]
    _carried[:] = [entry for entry in _carried if entry[0] != node.pk and entry[2] > now]
    if carried:
        logger.warning("node %s: sending again %s claimed posts whose failure was not recorded", node.name, len(carried))
        _publish_when_due(node, credential, sorted(carried, key=lambda c: (c.due_at, c.scheduled_post)), report, clock=clock, sleep=sleep)
    for token, (node_id, deadline) in list(_unresolved.items()):
        if node_id != node.pk:
            continue
        if time.monotonic() > deadline:
            _unresolved.pop(token, None)  # the lease ended: the sweep released them
            continue
        claims = claims_find(node=node, token=token)
        _unresolved.pop(token, None)
        if claims:
            logger.warning("node %s: claim %s had committed: %s posts found by its token", node.name, token, len(claims))
            report.claimed += len(claims)
            _publish_when_due(node, credential, claims, report, clock=clock, sleep=sleep)


def _claim_and_publish(
    node: DispatcherNode, credential: str, report: TickReport, *, clock, sleep, worker=None, tick_at=None, others=(),
) -> None:
    """Claims and publishes what falls due before the next tick, and what other nodes (ids in
    `others`) left pending past its time (services.overdue_after). A full claim means a backlog
    (a burst, or the node was away): claim again at once instead of waiting for the next
    tick, for a bounded time, so one tick cannot hold its thread forever."""
    others = list(others)
    tick = settings.PSCHED_TICK_SECONDS
    stop_at = time.monotonic() + 5 * tick
    backlog = False
    while True:
        now = clock.now()
        # Beyond the next tick by PSCHED_CLAIM_AHEAD_MS: when that tick comes late (beat's
        # drift, a slow heartbeat), its first posts are already claimed and sent on time.
        horizon = now + timedelta(seconds=tick, milliseconds=settings.PSCHED_CLAIM_AHEAD_MS)
        claims = _claim(node, now=now, horizon=horizon, backlog=backlog, worker=worker, others=others)
        report.claimed += len(claims)
        stages = {"tick": tick_at, "claiming": now, "claimed": clock.now()}
        _publish_when_due(node, credential, claims, report, clock=clock, sleep=sleep, stages=stages)
        backlog = len(claims) == settings.PSCHED_CLAIM_LIMIT
        if not backlog or time.monotonic() > stop_at:
            return


def _publish_when_due(node: DispatcherNode, credential: str, claims: list[Claim], report: TickReport, *, clock, sleep,
                      stages: dict | None = None) -> None:
    """Sends the claims (sorted by due_at) in batches, each PSCHED_SEND_AHEAD_MS before its
    posts fall due by the database clock, with `at` for the main side to start publishing
    when they do (it refuses a post that is not due yet): the request and its checks are
    done by then, and lateness is the publishing transaction alone."""
    ahead = timedelta(milliseconds=settings.PSCHED_SEND_AHEAD_MS)
    position = 0
    in_flight = []
    try:
        while position < len(claims):
            wait = (claims[position].due_at - ahead - clock.now()).total_seconds()
            if wait > 0 and in_flight:
                wait = _finish_answered(in_flight, wait)
            if wait > 0:
                sleep(wait)
            now = clock.now()
            # What is due already goes at once; otherwise the posts due at the next instant, with
            # `at` (the callback starts publishing at it: a post due later would be refused).
            at = None if claims[position].due_at <= now else claims[position].due_at
            until = at or now
            batch = []
            while position < len(claims) and len(batch) < settings.PSCHED_BATCH_SIZE and claims[position].due_at <= until:
                batch.append(claims[position])
                position += 1
            while len(in_flight) >= SEND_PARALLEL:
                _finish_answered(in_flight, None)  # the first to answer frees its place
            in_flight.append(_publish_batch(node, credential, batch, report, clock=clock, at=at, stages=stages))
    finally:
        while in_flight:
            _finish_answered(in_flight, None)
