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
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from psched.lib.db import retry_on_deadlock
from scheduling.models import ScheduledPost
from scheduling.services import Claim

from .models import DispatcherNode, hash_credential

logger = logging.getLogger("dispatchers")
Status = ScheduledPost.Status
State = DispatcherNode.State
TICK_TASK = "dispatchers.tick"


# --- registry ---------------------------------------------------------------------------

def node_tick_schedule_sync(*, node: DispatcherNode) -> PeriodicTask:
    """The node's PeriodicTask: beat sends it a tick every PSCHED_TICK_SECONDS on its queue.
    A tick expires after a few intervals, so a dead node's queue does not pile up."""
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
            "expire_seconds": max(2, every * 3),
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


def node_credential_issue(*, node: DispatcherNode) -> str:
    """A new credential for the node; the old one stops working at once."""
    secret = secrets.token_urlsafe(32)
    DispatcherNode.objects.filter(pk=node.pk).update(credential_hash=hash_credential(secret))
    node.credential_hash = hash_credential(secret)
    return secret


def node_credential_revoke(*, node: DispatcherNode) -> None:
    DispatcherNode.objects.filter(pk=node.pk).update(credential_hash="")
    node.credential_hash = ""


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
    ScheduledPost.objects.filter(dispatcher=node, status=Status.PUBLISHING).update(
        status=Status.PENDING, claim_token="", lease_until=None
    )
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


def nodes_mark_silent_down(*, now: datetime, nodes: list[DispatcherNode]) -> list[str]:
    """Active nodes among `nodes` (all of them, fresh) that have not ticked for down_after()."""
    limit = now - down_after()
    names = [
        node.name for node in nodes
        if node.state == State.ACTIVE and (node.last_seen or node.created_at) < limit
    ]
    if names:
        # Conditional: a node that ticked since we read it stays active.
        DispatcherNode.objects.filter(name__in=names, state=State.ACTIVE).filter(
            Q(last_seen__lt=limit) | Q(last_seen=None)
        ).update(state=State.DOWN)
        for node in nodes:
            if node.name in names:
                node.state = State.DOWN
        routing_nodes_forget()
        logger.warning("dispatcher nodes down (no tick for %ss): %s", down_after().seconds, ", ".join(names))
    return names


def leases_release_expired(*, now: datetime) -> int:
    """Claims whose holder vanished go back to pending; its late callback will be refused.
    Every tick runs this, mostly finding nothing: a plain read first, so that the common case
    takes no locks. A ranged UPDATE here deadlocked with publish transactions on MariaDB."""
    expired = ScheduledPost.objects.filter(status=Status.PUBLISHING, lease_until__lt=now)
    ids = list(expired.values_list("pk", flat=True)[:5000])
    if not ids:
        return 0
    released = expired.filter(pk__in=ids).update(status=Status.PENDING, claim_token="", lease_until=None)
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
    leases_release_expired(now=now)
    scheduled_posts_reroute_orphans(nodes=nodes)


# --- claims -----------------------------------------------------------------------------

def claim_due_posts(*, node: DispatcherNode, now: datetime, horizon: datetime, limit: int) -> list[Claim]:
    """Claims the node's pending posts due by horizon, atomically. Two nodes (or two ticks)
    never get the same row: SKIP LOCKED where the database has it, and always a conditional
    UPDATE that only moves rows still pending on this node."""
    token = secrets.token_hex(16)
    candidates = ScheduledPost.objects.filter(dispatcher=node, status=Status.PENDING, due_at__lte=horizon).order_by("due_at")
    if not candidates.exists():
        return []  # the common, idle case: one indexed read, no transaction
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        ScheduledPost.objects.filter(pk__in=ids, dispatcher=node, status=Status.PENDING).update(
            status=Status.PUBLISHING,
            claim_token=token,
            # The lease runs from the horizon: posts claimed ahead wait in the claim until due.
            lease_until=max(now, horizon) + timedelta(seconds=settings.PSCHED_LEASE_SECONDS),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    claimed = ScheduledPost.objects.filter(pk__in=ids, claim_token=token).order_by("due_at", "pk")
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
    up after PSCHED_MAX_ATTEMPTS. Rows no longer held by this claim are left alone."""
    now = now or timezone.now()
    error = error[:2000]
    by_token = defaultdict(list)
    for claim in claims:
        by_token[claim.claim_token].append(claim.scheduled_post)
    for token, ids in by_token.items():
        held = ScheduledPost.objects.filter(pk__in=ids, claim_token=token, status=Status.PUBLISHING, dispatcher=node)
        by_attempts = defaultdict(list)
        for pk, attempts in held.values_list("pk", "attempts"):
            by_attempts[attempts].append(pk)
        for attempts, group in by_attempts.items():
            rows = ScheduledPost.objects.filter(pk__in=group, claim_token=token, status=Status.PUBLISHING)
            if attempts >= settings.PSCHED_MAX_ATTEMPTS:
                rows.update(status=Status.FAILED, claim_token="", lease_until=None, last_error=error, updated_at=now)
                logger.error("%s scheduled posts failed after %s attempts: %s", len(group), attempts, error)
            else:
                rows.update(
                    status=Status.PENDING,
                    claim_token="",
                    lease_until=None,
                    last_error=error,
                    due_at=now + timedelta(seconds=retry_delay(attempts)),
                    updated_at=now,
                )
                logger.warning("%s scheduled posts will be retried (attempt %s): %s", len(group), attempts, error)


# --- heartbeat --------------------------------------------------------------------------

def node_heartbeat(*, name: str, now: datetime) -> tuple[DispatcherNode, datetime | None, list[DispatcherNode]]:
    """Records the tick; a node that ticks is alive, so a down node comes back active.
    Returns the node, its previous last_seen, and every node (for the sweep)."""
    nodes = list(DispatcherNode.objects.all())
    node = next((node for node in nodes if node.name == name), None)
    if node is None:
        raise DispatcherNode.DoesNotExist(f"no dispatcher node {name!r}")
    previous = node.last_seen
    if node.state == State.DOWN:
        DispatcherNode.objects.filter(pk=node.pk).update(last_seen=now, state=State.ACTIVE)
        node.state = State.ACTIVE
        routing_nodes_forget()
        logger.info("dispatcher node %s is back", name)
    else:
        DispatcherNode.objects.filter(pk=node.pk).update(last_seen=now)
    node.last_seen = now
    return node, previous, nodes


def node_tick_record(*, node: DispatcherNode, duration_ms: int) -> None:
    DispatcherNode.objects.filter(pk=node.pk).update(last_tick_ms=duration_ms)
    node.last_tick_ms = duration_ms
