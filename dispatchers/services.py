"""Dispatcher nodes: registry, routing, claims, leases, failover, and the tick itself."""
import hashlib
import json
import logging
import math
import random
import secrets
import time
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from psched.lib.db import db_now, ids_sql, idle_transaction_limit, retry_on_deadlock
from scheduling.models import ScheduledPost
from scheduling.publishing import Claim

from .models import DispatcherNode, DispatcherWorker, NodeCredential, hash_credential

logger = logging.getLogger("dispatchers")
Status = ScheduledPost.Status
State = DispatcherNode.State
TICK_TASK = "dispatchers.tick"


# --- registry ---------------------------------------------------------------------------

def node_tick_schedule_sync(*, node: DispatcherNode) -> PeriodicTask:
    """The node's PeriodicTask: beat sends it a tick every PSCHED_TICK_SECONDS on its queue.
    No Celery expiry: it compares beat's clock with the worker's. A stale or repeated tick is
    dropped by the heartbeat instead (on the database clock), and dispatchers.beat keeps a
    stopped node's queue from piling up."""
    every = settings.PSCHED_TICK_SECONDS
    # Not get_or_create: nodes starting at once may each create one; any of them will do.
    interval = IntervalSchedule.objects.filter(every=every, period=IntervalSchedule.SECONDS).order_by("pk").first()
    if interval is None:
        interval = IntervalSchedule.objects.create(every=every, period=IntervalSchedule.SECONDS)
    task, _ = PeriodicTask.objects.update_or_create(
        name=node.tick_task_name,
        defaults={
            "task": TICK_TASK,
            "interval": interval,
            "args": json.dumps([node.name]),
            "queue": node.queue,
            "routing_key": node.queue,
            "exchange": node.queue,
            "expire_seconds": None,
            "enabled": True,
            "description": f"Tick of dispatcher node {node.name}: claim and publish its due posts.",
        },
    )
    return task


@transaction.atomic
def node_register(*, name: str, weight: int = 100) -> tuple[DispatcherNode, bool]:
    node, created = DispatcherNode.objects.get_or_create(name=name, defaults={"weight": weight})
    node_tick_schedule_sync(node=node)
    routing_nodes_forget()
    if created:
        logger.info("registered dispatcher node %s (weight %s)", name, weight)
    return node, created


# A credential no tick has used for this long is pruned when the node gets a new one.
CREDENTIAL_IDLE = timedelta(days=1)
# How often a tick marks its credential as used (not on every tick: it costs a write).
CREDENTIAL_TOUCH_EVERY = timedelta(minutes=10)


@transaction.atomic
def node_credential_issue(*, node: DispatcherNode) -> str:
    """A new credential for the node, replacing all it had: the old ones stop working at once."""
    NodeCredential.objects.filter(node=node).delete()
    return node_credential_add(node=node)


def node_credential_add(*, node: DispatcherNode) -> str:
    """One more credential for the node, for a worker that starts without one: the node's
    other workers keep theirs. Credentials left unused by stopped workers are pruned."""
    secret = secrets.token_urlsafe(32)
    now = db_now()
    NodeCredential.objects.filter(node=node, created_at__lt=now - CREDENTIAL_IDLE).filter(
        Q(last_used_at=None) | Q(last_used_at__lt=now - CREDENTIAL_IDLE)
    ).delete()
    NodeCredential.objects.create(node=node, secret_hash=hash_credential(secret), last_used_at=now)
    return secret


def node_credential_revoke(*, node: DispatcherNode) -> None:
    NodeCredential.objects.filter(node=node).delete()


def node_credential_touch(*, node: DispatcherNode, secret: str, now: datetime) -> None:
    """Marks the credential a tick runs with as in use (at most every CREDENTIAL_TOUCH_EVERY)."""
    NodeCredential.objects.filter(
        node=node, secret_hash=hash_credential(secret), last_used_at__lt=now - CREDENTIAL_TOUCH_EVERY
    ).update(last_used_at=now)


@retry_on_deadlock  # its UPDATEs meet the node's own workers' claims and heartbeats
@transaction.atomic
def node_set_state(*, node: DispatcherNode, state: str) -> tuple[int, int]:
    """Sets a node's state. Draining stops routing to the node and hands its pending posts to
    the active nodes now (rather than at the next sweep); what it holds claimed it still
    publishes. Returns (moved, stayed): pending posts handed over, and those that stayed
    because no other node is active."""
    DispatcherNode.objects.filter(pk=node.pk).update(state=state)
    node.state = state
    routing_nodes_forget()
    if state != State.DRAINING:
        return 0, 0
    others = list(DispatcherNode.objects.filter(state=State.ACTIVE))
    pending = list(ScheduledPost.objects.filter(dispatcher=node, status=Status.PENDING).values_list("pk", flat=True))
    moved = scheduled_posts_route(scheduled_posts=pending, nodes=others)
    return moved, len(pending) - moved


def node_remove(*, node: DispatcherNode) -> int:
    """Removes a node after handing its pending posts over. Posts it holds claimed go back to
    pending for another node; a late callback from it is refused (its credential is gone).
    Its worker may still be running: draining first stops its claims at once, and a deadlock
    with one of its callbacks in flight only makes us try again."""
    moved, _ = node_set_state(node=node, state=State.DRAINING)
    return moved + _node_remove(node=node)


@retry_on_deadlock
@transaction.atomic
def _node_remove(*, node: DispatcherNode) -> int:
    ScheduledPost.objects.filter(dispatcher=node, status=Status.PUBLISHING).release_claims(status=Status.PENDING)
    PeriodicTask.objects.filter(name=node.tick_task_name).delete()
    node.delete()  # SET_NULL on its posts: the sweep routes them
    routing_nodes_forget()
    others = list(DispatcherNode.objects.filter(state=State.ACTIVE))
    return scheduled_posts_route(
        scheduled_posts=ScheduledPost.objects.filter(dispatcher=None, status=Status.PENDING), nodes=others
    )


# --- routing ----------------------------------------------------------------------------

def _score(node: DispatcherNode, post_id: int) -> float:
    digest = hashlib.blake2b(f"{node.name}:{post_id}".encode(), digest_size=8).digest()
    unit = (int.from_bytes(digest, "big") + 1) / (2**64 + 2)  # in (0, 1)
    return -node.weight / math.log(unit)


def node_for_post(*, post_id: int, nodes: list[DispatcherNode]) -> DispatcherNode | None:
    """Weighted rendezvous hashing: adding or removing a node moves only its share."""
    candidates = [node for node in nodes if node.weight > 0]
    if not candidates:
        return None
    return max(candidates, key=lambda node: _score(node, post_id))


def scheduled_posts_route(*, scheduled_posts, nodes: list[DispatcherNode] | None = None) -> int:
    """Assigns each given pending post to an active node; returns how many moved."""
    if nodes is None:
        nodes = list(DispatcherNode.objects.filter(state=State.ACTIVE))
    if not nodes:
        return 0
    by_node = defaultdict(list)
    for post in scheduled_posts:
        pk = post.pk if isinstance(post, ScheduledPost) else post
        target = node_for_post(post_id=pk, nodes=nodes)
        if target is None:
            return 0  # every active node has weight 0: the posts wait, unrouted
        by_node[target.pk].append(pk)
        if isinstance(post, ScheduledPost):
            post.dispatcher = target
    moved = 0
    for node_pk, ids in by_node.items():
        for start in range(0, len(ids), settings.PSCHED_MAX_BULK):
            moved += ScheduledPost.objects.filter(pk__in=ids[start:start + settings.PSCHED_MAX_BULK], status=Status.PENDING).update(
                dispatcher_id=node_pk
            )
    return moved


# Each web process reads the routable nodes at most once a second: at one post a request,
# that read cost as much as the INSERT. A node drained, down or removed elsewhere in that
# second is handled like any orphan: the sweep reroutes pending posts off inactive nodes, and
# scheduled_posts_create retries once with a fresh list when a removed node's id fails the
# foreign key. Changes made in this process forget the list at once.
ROUTING_NODES_SECONDS = 1.0
_routing_nodes = {"until": 0.0, "nodes": []}


def routing_nodes_forget() -> None:
    _routing_nodes["until"] = 0.0


def _routing_nodes_read(*, cached: bool) -> list[DispatcherNode]:
    now = time.monotonic()
    if cached and now < _routing_nodes["until"]:
        return _routing_nodes["nodes"]
    nodes = list(DispatcherNode.objects.filter(state=State.ACTIVE, weight__gt=0).only("pk", "name", "weight"))
    _routing_nodes.update(nodes=nodes, until=now + ROUTING_NODES_SECONDS)
    return nodes


def scheduled_posts_assign(*, scheduled_posts: list[ScheduledPost], cached: bool = True) -> None:
    """Chooses a node for each new, unsaved post, so that it is inserted already routed (one
    INSERT, no routing UPDATE). The id is not known yet: a random key stands in for it in
    the same weighted rendezvous hashing, which spreads posts by weight all the same. The
    posts keep no node when no active node has a weight; the sweep routes them later."""
    nodes = _routing_nodes_read(cached=cached)
    for post in scheduled_posts:
        post.dispatcher = node_for_post(post_id=random.getrandbits(63), nodes=nodes) if nodes else None


def scheduled_posts_assign_creating(*, scheduled_posts, fresh: bool, **signal) -> None:
    """Receives scheduling's scheduled_posts_creating (connected in DispatchersConfig.ready)."""
    scheduled_posts_assign(scheduled_posts=scheduled_posts, cached=not fresh)


# --- the sweep: cheap, idempotent, run by every node's tick ------------------------------

def down_after() -> timedelta:
    return timedelta(seconds=max(5, settings.PSCHED_TICK_SECONDS * settings.PSCHED_NODE_DOWN_TICKS))


def may_judge_others(*, now: datetime, previous_tick: datetime | None) -> bool:
    """Judge other nodes only when we ourselves ticked recently: after beat was away, every
    node looks silent, and nobody should be marked down for that. "Recently" is well inside
    down_after(), so that by then beat has been sending every live node its ticks again."""
    return previous_tick is not None and now - previous_tick < down_after() / 2


# How long a registered node that has never ticked may take to start before it counts as down.
NEVER_TICKED_GRACE = timedelta(minutes=1)


def nodes_mark_silent_down(*, now: datetime, nodes: list[DispatcherNode]) -> list[str]:
    """Active nodes among `nodes` (all of them, fresh) that have not ticked for down_after(),
    by the database clock (`now`). Their claims go back to pending at once, so their posts go
    out through the others within a tick or two instead of after the lease: a late callback
    of a node we were wrong about is refused by the claim token."""
    limit = now - down_after()
    names = []
    for node in nodes:
        # A node that never ticked is still starting (a worker can take many seconds to be ready).
        silent_since = node.last_seen or node.created_at + NEVER_TICKED_GRACE
        if node.state != State.ACTIVE or silent_since >= limit:
            continue
        # Conditional: a node that ticked since we read it stays active.
        marked = DispatcherNode.objects.filter(pk=node.pk, state=State.ACTIVE).filter(
            Q(last_seen__lt=limit) | Q(last_seen=None, created_at__lt=limit - NEVER_TICKED_GRACE)
        ).update(state=State.DOWN)
        if marked:
            node.state = State.DOWN
            names.append(node.name)
            claims_release(node=node)
    if names:
        routing_nodes_forget()
        logger.warning("dispatcher nodes down (no tick for %ss): %s", down_after().seconds, ", ".join(names))
    return names


def claims_release(*, node: DispatcherNode) -> int:
    """The posts a node holds claimed go back to pending (the sweep reroutes them). Ids first,
    then a keyed UPDATE: a ranged one deadlocked with publish transactions on MariaDB."""
    held = ScheduledPost.objects.filter(dispatcher=node, status=Status.PUBLISHING)
    ids = list(held.values_list("pk", flat=True)[:5000])
    if not ids:
        return 0
    released = held.filter(pk__in=ids).release_claims(status=Status.PENDING)
    logger.warning("released %s scheduled posts claimed by node %s, which is down", released, node.name)
    return released


def leases_release_expired(*, now: datetime) -> int:
    """Claims whose holder vanished go back to pending; its late callback will be refused.
    Every tick runs this, mostly finding nothing: a plain read first, so that the common case
    takes no locks. A ranged UPDATE here deadlocked with publish transactions on MariaDB."""
    expired = ScheduledPost.objects.filter(status=Status.PUBLISHING, lease_until__lt=now)
    ids = list(expired.values_list("pk", flat=True)[:5000])
    if not ids:
        return 0
    released = expired.filter(pk__in=ids).release_claims(status=Status.PENDING)
    if released:
        logger.warning("released %s scheduled posts whose lease expired", released)
    return released


def scheduled_posts_reroute_orphans(*, nodes: list[DispatcherNode], limit: int = 5000) -> int:
    """Pending posts with no node, or on a node that is down or draining, go to active nodes."""
    active = [node for node in nodes if node.state == State.ACTIVE]
    if not active:
        return 0
    inactive_ids = [node.pk for node in nodes if node.state != State.ACTIVE]
    orphans = ScheduledPost.objects.filter(status=Status.PENDING).filter(
        Q(dispatcher=None) | Q(dispatcher__in=inactive_ids)
    )
    ids = list(orphans.values_list("pk", flat=True)[:limit])
    moved = scheduled_posts_route(scheduled_posts=ids, nodes=active) if ids else 0
    if moved:
        logger.info("rerouted %s pending posts to active nodes", moved)
    return moved


def sweep(*, now: datetime, nodes: list[DispatcherNode], judge_others: bool = True) -> None:
    """`nodes`: every node as just read (the heartbeat reads them once for the whole tick)."""
    if judge_others:
        nodes_mark_silent_down(now=now, nodes=nodes)
        workers_release_silent(now=now)
    leases_release_expired(now=now)
    scheduled_posts_reroute_orphans(nodes=nodes)


# --- workers: liveness per process -------------------------------------------------------

class WorkerGone(Exception):
    """The worker was judged silent and its claims were released: it registers again
    (dispatchers.worker) and claims nothing with its old prefix."""


def worker_register(*, node: DispatcherNode, process: str = "") -> DispatcherWorker:
    now = db_now()
    return DispatcherWorker.objects.create(
        node=node, claim_prefix=secrets.token_hex(4), process=process[:200], started_at=now, last_seen=now,
    )


def worker_heartbeat(*, claim_prefix: str) -> bool:
    """The worker lives, by the database clock. False when it was judged gone meanwhile."""
    return bool(DispatcherWorker.objects.filter(claim_prefix=claim_prefix).update(last_seen=db_now()))


def workers_release_silent(*, now: datetime) -> int:
    """Workers that have not beaten for down_after(), by the database clock (`now`), are gone:
    their claims go back to pending at once, as a dead node's do, though their node may live
    on in another worker (one restarted within a second of the kill comes back with another
    prefix). A late callback of a worker we were wrong about (paused, cut off) is refused by
    the claim token."""
    silent = list(DispatcherWorker.objects.filter(last_seen__lt=now - down_after()).select_related("node"))
    return sum(_worker_release(worker=worker, limit=now - down_after()) for worker in silent)


@retry_on_deadlock
@transaction.atomic
def _worker_release(*, worker: DispatcherWorker, limit: datetime) -> int:
    # Deleted first: a claim of the worker in flight holds its row (shared, claim_due_posts)
    # until it commits, so the release below sees every claim it made.
    if not DispatcherWorker.objects.filter(pk=worker.pk, last_seen__lt=limit).delete()[0]:
        return 0  # it beat since we read it
    held = ScheduledPost.objects.filter(
        dispatcher_id=worker.node_id, status=Status.PUBLISHING, claim_token__startswith=worker.claim_prefix
    )
    ids = list(held.values_list("pk", flat=True)[:5000])
    released = held.filter(pk__in=ids).update(status=Status.PENDING, claim_token="", lease_until=None) if ids else 0
    logger.warning(
        "worker %s of node %s is gone (no heartbeat for %ss); released its %s claimed posts",
        worker.claim_prefix, worker.node.name, down_after().seconds, released,
    )
    return released


def _worker_hold(claim_prefix: str) -> None:
    """Inside a claim's transaction: the worker's row, locked shared until the claim commits,
    or WorkerGone."""
    table = connection.ops.quote_name(DispatcherWorker._meta.db_table)
    lock = " LOCK IN SHARE MODE" if connection.vendor == "mysql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE claim_prefix = %s{lock}", [claim_prefix])
        if cursor.fetchone() is None:
            raise WorkerGone(claim_prefix)


# --- claims -----------------------------------------------------------------------------

def claim_token_new(*, worker: str | None = None) -> str:
    """32 characters; a worker's start with its claim prefix."""
    return (worker or "") + secrets.token_hex(12 if worker else 16)


def claims_find(*, node: DispatcherNode, token: str) -> list[Claim]:
    """What a claim with this token holds, if it committed: for a node that lost the answer to
    its claim's COMMIT (the connection broke), which may or may not have been applied."""
    held = ScheduledPost.objects.filter(dispatcher=node, status=Status.PUBLISHING, claim_token=token).order_by("due_at", "pk")
    return [
        Claim(scheduled_post=pk, claim_token=token, version=version, due_at=due_at)
        for pk, version, due_at in held.values_list("pk", "version", "due_at")
    ]


def overdue_after() -> timedelta:
    """A pending post still unclaimed this long after its not-before time (due_at) is late
    because its own node is slow (a lossy link, a crawling host, a backlog), though alive
    enough not to be judged down: any active node may claim it. Well inside the 10 s a post
    may be late under faults, well past the tick that claims a post ahead of its time."""
    return timedelta(seconds=max(3, 2 * settings.PSCHED_TICK_SECONDS))


def stuck_after() -> timedelta:
    """A post another node claimed and has not published this long after its not-before time
    and after the claim (updated_at) is stuck with a node alive but slow (its callbacks crawl
    over a lossy link, or hang on a web server that drops them): any active node may take the
    claim over, instead of waiting for the holder's callback to fail or its lease to end. The
    holder's late callback is then refused by the claim token, so the post still goes out once.
    Longer than overdue_after: a node's own callback usually answers within milliseconds of
    the due time. From the claim too: posts long overdue (a backlog after an outage) are not
    taken from a node that has just claimed them, so two nodes cannot keep taking a backlog
    from each other."""
    return overdue_after() + timedelta(seconds=2)


def claim_due_posts(
    *, node: DispatcherNode, now: datetime, horizon: datetime, limit: int, backlog: bool = False,
    worker: str | None = None, token: str | None = None, others: list[int] | None = None,
) -> list[Claim]:
    """Claims the node's pending posts due by horizon, atomically. Two nodes (or two ticks)
    never get the same row: SKIP LOCKED where the database has it, and always a conditional
    UPDATE that only moves rows still pending on this node. `backlog`: the previous claim was
    full, so skip the cheap look that keeps idle ticks out of a transaction. `worker`: the
    claiming worker's claim prefix (raises WorkerGone when it was judged gone); `token`: the
    claim token, chosen by the caller so that it can find its rows if the COMMIT's answer is
    lost (claims_find). `others`: the ids of the other nodes, whose overdue pending posts
    (overdue_after) and stuck claims (stuck_after) this node takes over too, moving them to
    itself in the claim. Taking over a claim is not an attempt: the holder was slow, the post
    did nothing wrong (attempts count towards PSCHED_MAX_ATTEMPTS)."""
    token = token or claim_token_new(worker=worker)
    candidates = ScheduledPost.objects.filter(dispatcher=node, status=Status.PENDING, due_at__lte=horizon).order_by("due_at", "pk")
    overdue_before = now - overdue_after()
    stuck_before = now - stuck_after()
    # The claim index per node (dispatcher, status, due_at): two range reads for each other node.
    overdue = ScheduledPost.objects.filter(dispatcher__in=others or []).filter(
        Q(status=Status.PENDING, due_at__lte=overdue_before)
        | Q(status=Status.PUBLISHING, due_at__lte=stuck_before, updated_at__lte=stuck_before)
    ).order_by("due_at", "pk")
    if not backlog and not candidates.exists() and not (others and overdue.exists()):
        return []  # the common, idle case: one or two indexed reads, no transaction
    with idle_transaction_limit(settings.PSCHED_CLAIM_IDLE_SECONDS), transaction.atomic():
        if worker:
            _worker_hold(worker)  # first: the release of a gone worker takes the same order
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
            overdue = overdue.select_for_update(skip_locked=True)
        rows = list(candidates.values_list("pk", "version", "due_at")[:limit])
        stuck = 0
        if others and len(rows) < limit:
            taken = list(overdue.values_list("pk", "version", "due_at", "status")[:limit - len(rows)])
            stuck = sum(status == Status.PUBLISHING for *_, status in taken)
            rows += [row[:3] for row in taken]
            rows.sort(key=lambda row: (row[2], row[0]))
        if not rows:
            return []
        table = connection.ops.quote_name(ScheduledPost._meta.db_table)
        adapt = connection.ops.adapt_datetimefield_value
        # The lease runs from the horizon: posts claimed ahead wait in the claim until due.
        lease_until = max(now, horizon) + timedelta(seconds=settings.PSCHED_LEASE_SECONDS)
        pending, publishing = Status.PENDING.value, Status.PUBLISHING.value
        with connection.cursor() as cursor:
            # Still pending, and still this node's or overdue (another's, taken over); or still
            # another's claim, stuck (taken over).
            cursor.execute(
                f"UPDATE {table} SET attempts = CASE WHEN status = %s THEN attempts + 1 ELSE attempts END, "
                f"status = %s, claim_token = %s, lease_until = %s, dispatcher_id = %s, updated_at = %s "
                f"WHERE id IN ({ids_sql(pk for pk, _, _ in rows)}) AND ("
                f"(status = %s AND (dispatcher_id = %s OR due_at <= %s)) "
                f"OR (status = %s AND dispatcher_id <> %s AND due_at <= %s AND updated_at <= %s))",
                [pending, publishing, token, adapt(lease_until), node.pk, adapt(now),
                 pending, node.pk, adapt(overdue_before), publishing, node.pk, adapt(stuck_before), adapt(stuck_before)],
            )
            moved = cursor.rowcount
    if stuck:
        logger.warning("node %s takes over %s posts stuck in other nodes' claims", node.name, stuck)
    if moved == len(rows):
        # Every row read was moved, so it was still as read: with SKIP LOCKED the rows were
        # locked from the read on, and SQLite's IMMEDIATE transaction held off every writer.
        return [Claim(scheduled_post=pk, claim_token=token, version=version, due_at=due_at) for pk, version, due_at in rows]
    claimed = ScheduledPost.objects.filter(pk__in=[pk for pk, _, _ in rows], claim_token=token).order_by("due_at", "pk")
    return [
        Claim(scheduled_post=pk, claim_token=token, version=version, due_at=due_at)
        for pk, version, due_at in claimed.values_list("pk", "version", "due_at")
    ]


def retry_delay(attempts: int) -> float:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(settings.PSCHED_RETRY_MAX_SECONDS, settings.PSCHED_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


def claims_record_failure(*, node: DispatcherNode, claims: list[Claim], error: str, now: datetime | None = None) -> None:
    """A callback that did not get through: back off in the row (not in worker memory), or give
    up after PSCHED_MAX_ATTEMPTS. Rows no longer held by this claim are left alone. The
    not-before time is on the database clock, like every other instant of the pipeline."""
    now = now or db_now()
    error = error[:2000]
    by_token = defaultdict(list)
    for claim in claims:
        by_token[claim.claim_token].append(claim.scheduled_post)
    for token, ids in by_token.items():
        with transaction.atomic():
            # Locked, so an edit or cancel that commits first is not overwritten below.
            held = list(
                ScheduledPost.objects.select_for_update()
                .filter(pk__in=ids, claim_token=token, status=Status.PUBLISHING, dispatcher=node)
                .order_by("pk").only("pk", "attempts")
            )
            exhausted = [row.pk for row in held if row.attempts >= settings.PSCHED_MAX_ATTEMPTS]
            retrying = [row for row in held if row.attempts < settings.PSCHED_MAX_ATTEMPTS]
            if exhausted:
                ScheduledPost.objects.filter(pk__in=exhausted).release_claims(
                    status=Status.FAILED, last_error=error, updated_at=now
                )
                logger.error("%s scheduled posts failed after their last attempt: %s", len(exhausted), error)
            # Each post draws its own delay: posts that failed together must not retry together.
            for row in retrying:
                row.status, row.claim_token, row.lease_until = Status.PENDING, "", None
                row.last_error, row.updated_at = error, now
                row.due_at = now + timedelta(seconds=retry_delay(row.attempts))
            if retrying:
                ScheduledPost.objects.bulk_update(
                    retrying, ["status", "claim_token", "lease_until", "last_error", "due_at", "updated_at"], batch_size=500
                )
                logger.warning(
                    "%s scheduled posts will be retried (attempt %s): %s",
                    len(retrying), ", ".join(sorted({str(row.attempts) for row in retrying})), error,
                )


# --- heartbeat --------------------------------------------------------------------------

def tick_min_gap() -> timedelta:
    """A tick that starts sooner than this after the node's previous one is a repeat (two
    beats, or a backlog of ticks a stopped worker finds at start): it is dropped."""
    return timedelta(seconds=settings.PSCHED_TICK_SECONDS / 2)


def node_heartbeat(
    *, name: str, now: datetime, clock_offset: float | None = None, from_beat: bool = True
) -> tuple[DispatcherNode, datetime | None, list[DispatcherNode]] | None:
    """Records the tick at `now` (the database clock) with the node's measured clock offset,
    and whether beat sent it (else the worker ticked by itself: beat_seen stays);
    a node that ticks is alive, so a down node comes back active. Returns the node, its
    previous last_seen, and every node (for the sweep); None when the tick is a repeat of one
    that just ran (see tick_min_gap), decided by one conditional UPDATE so that two workers
    of the node cannot both take it."""
    nodes = list(DispatcherNode.objects.all())
    node = next((node for node in nodes if node.name == name), None)
    if node is None:
        raise DispatcherNode.DoesNotExist(f"no dispatcher node {name!r}")
    previous = node.last_seen
    offset_ms = None if clock_offset is None else round(clock_offset * 1000)
    recorded = DispatcherNode.objects.filter(pk=node.pk).filter(
        Q(last_seen=None) | Q(last_seen__lte=now - tick_min_gap())
    ).update(last_seen=now, clock_offset_ms=offset_ms, **({"beat_seen": now} if from_beat else {}))
    if not recorded:
        return None
    node.last_seen = now
    node.clock_offset_ms = offset_ms
    if node.state == State.DOWN:
        # Conditional: a drain (or an activation) made since we read the node stands.
        if DispatcherNode.objects.filter(pk=node.pk, state=State.DOWN).update(state=State.ACTIVE):
            node.state = State.ACTIVE
            routing_nodes_forget()
            logger.info("dispatcher node %s is back", name)
        else:
            node.state = DispatcherNode.objects.values_list("state", flat=True).get(pk=node.pk)
    return node, previous, nodes


def node_tick_record(*, node: DispatcherNode, duration_ms: int) -> None:
    DispatcherNode.objects.filter(pk=node.pk).update(last_tick_ms=duration_ms)
    node.last_tick_ms = duration_ms
