"""The main side of a node's callback: publishing claimed posts (`scheduled_posts_publish`),
and the `Claim` a node holds. What dispatchers imports from scheduling to publish."""
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, connection, transaction

from feed.models import Post
from psched.lib.db import db_now, ids_sql, is_connection_lost, is_retryable

from .models import ScheduledPost
from .signals import scheduled_posts_published

Status = ScheduledPost.Status
logger = logging.getLogger("scheduling")


@dataclass(frozen=True)
class Claim:
    """A node's hold on a scheduled post: made by the tick, sent over HTTP (dispatchers
    serializes it at that edge), checked when publishing, and used to record a failure."""

    scheduled_post: int
    claim_token: str
    version: int
    due_at: datetime | None = None  # the node's own knowledge; not part of the callback


@dataclass(frozen=True)
class PublishResult:
    scheduled_post_id: int
    post_id: int | None = None
    created: bool = False
    error: str = ""
    forbidden: bool = False  # the post is routed to another node


class _AloneRefused(Exception):
    """The database refused the one post of a batch published without a savepoint: the
    transaction is rolled back and run again with one, which records the refusal."""


def scheduled_posts_publish(*, node, claims: list[Claim], now: datetime | None = None) -> list[PublishResult]:
    """See _publish. A batch of one post (a steady flow sends one post at its instant) is
    published without the savepoint that lets a batch's refused row fail alone: two round
    trips fewer in the transaction its deliveries wait for. When the database refuses that
    post, the whole transaction runs again the usual way, so the refusal is recorded as
    before."""
    now = now or db_now()  # published_at and lateness: the database clock, the same in a rerun
    try:
        return _publish(node=node, claims=claims, now=now, savepoint=len({claim.scheduled_post for claim in claims}) > 1)
    except _AloneRefused:
        return _publish(node=node, claims=claims, now=now, savepoint=True)


@transaction.atomic
def _publish(*, node, claims: list[Claim], now: datetime, savepoint: bool) -> list[PublishResult]:
    """The main side of a node's callback, in one transaction: lock the rows, check each is still
    claimed by this node with this token and version, insert its Post, mark it published.
    A repeat returns the existing Post, so nothing is ever published twice. A post that is not
    due yet by the database clock is refused: a node never publishes early, whatever its clock.

    Set-based: the checks read a few columns of each locked row, then one INSERT … SELECT
    copies the posts into the feed (author and text from the scheduled post, never from the
    request) and one UPDATE marks them published, published_at and lateness by the database
    clock. A row the database refuses is published on its own, so it fails alone (marked
    failed, with the reason) instead of its batch. `now`: the database clock as the caller
    read it just before (the callback, at the end of its hold); else read here."""
    ids = sorted({claim.scheduled_post for claim in claims})
    rows = {row[0]: row for row in _claimed_rows_lock(ids, now=now)}
    # A repeat (the node lost an answer and sends the claim again) finds its post published.
    repeats = [pk for pk, row in rows.items() if row[1] == Status.PUBLISHED]
    existing = dict(Post.objects.filter(scheduled_post_id__in=repeats).values_list("scheduled_post_id", "pk")) if repeats else {}
    refusals, to_publish = {}, {}
    for claim in claims:
        pk = claim.scheduled_post
        row = rows.get(pk)
        if row is None or pk in existing or pk in refusals or pk in to_publish:
            continue
        refusal = _claim_refusal(row, node=node, claim=claim, now=now)
        if refusal:
            refusals[pk] = PublishResult(pk, error=refusal, forbidden=row[2] != node.pk)
        else:
            to_publish[pk] = True
    created, failures = _posts_insert(node=node, ids=list(to_publish), now=now, savepoint=savepoint) if to_publish else ({}, {})
    results = []
    for claim in claims:
        pk = claim.scheduled_post
        if pk in created:
            results.append(PublishResult(pk, post_id=created[pk], created=True))
        elif pk in existing:
            results.append(PublishResult(pk, post_id=existing[pk]))
        elif pk in refusals:
            results.append(refusals[pk])
        elif pk in failures:
            results.append(PublishResult(pk, error=failures[pk]))
        else:
            results.append(PublishResult(pk, error="No such scheduled post."))
    return results


# The callback's statements are written out, with the batch's ids inlined (ids_sql): the ORM
# preparing each id of its IN lists was most of the callback's CPU.

def _claimed_rows_lock(ids: list[int], *, now: datetime) -> list[tuple]:
    """Locks the rows (in id order, so two callbacks never deadlock on them) and reads what
    the checks need: (pk, status, dispatcher_id, claim_token, version, due), `due` whether
    due_at has come by `now`."""
    table = connection.ops.quote_name(ScheduledPost._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, status, dispatcher_id, claim_token, version, due_at <= %s FROM {table} "
            f"WHERE id IN ({ids_sql(ids)}) ORDER BY id{lock}",
            [connection.ops.adapt_datetimefield_value(now)],
        )
        return [(pk, status, node, token, version, bool(due)) for pk, status, node, token, version, due in cursor.fetchall()]


def _posts_insert(*, node, ids: list[int], now: datetime, savepoint: bool = True) -> tuple[dict[int, int], dict[int, str]]:
    """Publishes the checked, locked rows: the whole batch in one go, or, when the database
    refuses it, row by row. Returns ({id: its Post's id}, {id: reason} for the rows that
    could not be published). Without `savepoint` (one post), a refusal raises _AloneRefused:
    the caller runs the transaction again with it."""
    if not savepoint:
        try:
            return _posts_insert_set(node=node, ids=ids, now=now), {}
        except DatabaseError as error:
            if is_retryable(error) or is_connection_lost(error):
                raise
            raise _AloneRefused from error
    try:
        with transaction.atomic():
            return _posts_insert_set(node=node, ids=ids, now=now), {}
    except DatabaseError as error:
        if is_retryable(error) or is_connection_lost(error):
            raise  # the transaction is gone: the caller runs it again, or the node retries
        logger.warning("publishing a batch of %s failed (%s); publishing its rows one by one", len(ids), error)
    created, failures = {}, {}
    for pk in ids:
        try:
            with transaction.atomic():
                created.update(_posts_insert_set(node=node, ids=[pk], now=now))
        except DatabaseError as error:
            if is_retryable(error) or is_connection_lost(error):
                raise
            logger.error("scheduled post %s could not be published: %s", pk, error)
            failures[pk] = f"The database refused the post: {error.__class__.__name__}."
            ScheduledPost.objects.filter(pk=pk).release_claims(
                status=Status.FAILED, last_error=failures[pk][:2000], updated_at=now
            )
    return created, failures


def _posts_insert_set(*, node, ids: list[int], now: datetime) -> dict[int, int]:
    """One INSERT … SELECT copies the posts into the feed (author and text from the scheduled
    post, never from the request), one UPDATE marks them published with published_at and
    lateness by the database clock. Returns {scheduled post id: Post id}."""
    post_table = connection.ops.quote_name(Post._meta.db_table)
    scheduled_table = connection.ops.quote_name(ScheduledPost._meta.db_table)
    when = connection.ops.adapt_datetimefield_value(now)
    in_ids = ids_sql(ids)
    returning = connection.features.can_return_rows_from_bulk_insert  # MariaDB, SQLite; not MySQL
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {post_table} (author_id, text, published_at, scheduled_post_id, scheduled_for, dispatcher_id) "
            f"SELECT author_id, text, %s, id, publish_at, %s FROM {scheduled_table} WHERE id IN ({in_ids})"
            + (" RETURNING scheduled_post_id, id" if returning else ""),
            [when, node.pk],
        )
        if not returning:
            cursor.execute(f"SELECT scheduled_post_id, id FROM {post_table} WHERE scheduled_post_id IN ({in_ids})")
        created = dict(cursor.fetchall())
        cursor.execute(
            f"UPDATE {scheduled_table} SET status = %s, published_at = %s, lateness_ms = {_milliseconds_since_sql('publish_at')}, "
            f"claim_token = '', lease_until = NULL, last_error = '', updated_at = %s WHERE id IN ({in_ids})",
            [Status.PUBLISHED.value, when, when, when],
        )
    if created:
        # The apps above write what publishing implies (destinations: the outbox) in this transaction.
        scheduled_posts_published.send(sender=ScheduledPost, published=created, node=node, now=now)
    return created


def _milliseconds_since_sql(column: str) -> str:
    """SQL for the whole milliseconds from a datetime column to the instant given as its one
    parameter."""
    if connection.vendor == "mysql":
        return f"TIMESTAMPDIFF(MICROSECOND, {column}, %s) DIV 1000"
    return f"CAST(ROUND((julianday(%s) - julianday({column})) * 86400000) AS INTEGER)"


def _claim_refusal(row: tuple, *, node, claim: Claim, now: datetime) -> str:
    """row: (pk, status, dispatcher_id, claim_token, version, due) as locked; now: the
    database clock."""
    pk, status, dispatcher_id, claim_token, version, due = row
    if status != Status.PUBLISHING:
        return f"Not claimed: the post is {status}."
    if dispatcher_id != node.pk:
        return "Claimed by another node."
    if claim_token != claim.claim_token:
        return "The claim expired and was taken over."
    if version != claim.version:
        return "The post was edited after it was claimed."
    if not due:
        due_at = ScheduledPost.objects.values_list("due_at", flat=True).get(pk=pk)
        return f"Not due yet: due at {due_at:%H:%M:%S.%f}, the database clock says {now:%H:%M:%S.%f} (UTC)."
    return ""
