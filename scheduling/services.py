"""Writes to scheduled posts: the state machine's transitions that people and the API make."""
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from feed.models import Post
from feed.services import post_text_check
from psched.lib.db import RowInsert, db_now, ids_sql, is_retryable
from psched.lib.errors import Conflict
from psched.lib.timeparse import ParsedTime, parse_publish_at, zone_get

from .models import ScheduledPost, Series
from .selectors import scheduled_posts_same, users_by_username
from .signals import (
    scheduled_post_extras_changing,
    scheduled_post_text_changing,
    scheduled_posts_created,
    scheduled_posts_creating,
    scheduled_posts_published,
)

# Far enough for any real plan, near enough that a typo (year 20310) is caught.
MAX_SCHEDULE_AHEAD = timedelta(days=5 * 366)

Status = ScheduledPost.Status
logger = logging.getLogger("scheduling")


@dataclass(frozen=True)
class ScheduleInput:
    text: str
    when: ParsedTime
    # The request's fields for the apps above (e.g. destinations), carried to the new post as
    # `extras` for the receivers of scheduled_posts_creating; scheduling reads none of them.
    extras: dict = field(default_factory=dict)


def publish_time_clean(*, publish_at, timezone_name=None, now: datetime | None = None) -> ParsedTime:
    """Validates a publish time; raises ValidationError naming publish_at or timezone. "Now" is
    the database's clock (the one that decides when the post is due), not this host's."""
    now = now or db_now()
    if timezone_name is not None:
        try:
            zone_get(timezone_name)
        except ValidationError as error:
            raise ValidationError({"timezone": error.messages}) from None
    try:
        when = parse_publish_at(publish_at, timezone_name)
    except ValidationError as error:
        raise ValidationError({"publish_at": error.messages}) from None
    if when.instant <= now:
        raise ValidationError({"publish_at": [
            f"{when.instant:%Y-%m-%d %H:%M:%S} UTC is in the past; pick a time after now "
            f"({now:%Y-%m-%d %H:%M:%S} UTC), or post it now instead."
        ]})
    if when.instant > now + MAX_SCHEDULE_AHEAD:
        raise ValidationError({"publish_at": ["That is more than five years ahead; check the year."]})
    return when


def schedule_input_clean(*, text, publish_at, timezone_name=None, now: datetime | None = None, extras: dict | None = None) -> ScheduleInput:
    """Validates one post to schedule; raises ValidationError with a dict naming each bad field."""
    errors = {}
    text = post_text_check(text, errors=errors)
    when = None
    try:
        when = publish_time_clean(publish_at=publish_at, timezone_name=timezone_name, now=now)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return ScheduleInput(text=text, when=when, extras=extras or {})


def scheduled_posts_insert(*, rows: list[ScheduledPost]) -> list[ScheduledPost]:
    """Inserts new pending posts (plain, bulk, imported, queued or series occurrences), all or
    nothing: the one way a post that is due some day comes to exist. The receivers of
    scheduled_posts_creating (dispatchers: the node of each post) act before the INSERT, so
    that one post is one INSERT in autocommit: no transaction to open and commit, no routing
    UPDATE. A receiver that answers True has rows of its own to write for the new posts: the
    INSERT and scheduled_posts_created then run in one transaction."""
    for row in rows:
        if not hasattr(row, "extras"):
            row.extras = {}
    if connection.in_atomic_block:  # a failed INSERT cannot be retried inside the caller's transaction
        followup = _creating_send(rows, fresh=True)
        return _scheduled_posts_insert(rows, followup=followup)
    followup = _creating_send(rows, fresh=False)
    try:
        return _scheduled_posts_insert(rows, followup=followup)
    except IntegrityError:
        # A receiver's cached view (dispatchers: the nodes, a second old at most) named a row
        # removed since: once more, from fresh reads.
        for row in rows:
            row.pk, row._state.adding = None, True
        followup = _creating_send(rows, fresh=True)
        return _scheduled_posts_insert(rows, followup=followup)


def _creating_send(rows: list[ScheduledPost], *, fresh: bool) -> bool:
    """Sends scheduled_posts_creating; True when a receiver asked for scheduled_posts_created."""
    responses = scheduled_posts_creating.send(sender=ScheduledPost, scheduled_posts=rows, fresh=fresh)
    return any(response is True for _, response in responses)


_scheduled_post_insert = RowInsert(ScheduledPost)


def _scheduled_posts_insert(rows: list[ScheduledPost], *, followup: bool = False) -> list[ScheduledPost]:
    if followup:
        with transaction.atomic():
            _scheduled_posts_insert(rows)
            scheduled_posts_created.send(sender=ScheduledPost, scheduled_posts=rows)
        return rows
    if len(rows) == 1:
        _scheduled_post_insert(rows[0])  # save(force_insert=True), at a third of the cost
        return rows
    with transaction.atomic():
        if connection.features.can_return_rows_from_bulk_insert:
            return ScheduledPost.objects.bulk_create(rows)
        # MySQL 8 returns no ids from a multi-row INSERT (MariaDB and SQLite do): one INSERT
        # each, so every post answers with its id.
        for row in rows:
            row.save(force_insert=True)
    return rows


def scheduled_posts_announce(*, posts: list[ScheduledPost]) -> None:
    """Tells the apps above that these existing posts (drafts) are about to be saved as
    pending: call it before the save, which then writes the node the receivers set, inside
    the save's transaction (scheduled_posts_created, when asked for, is sent at once: the
    posts have their ids)."""
    for post in posts:
        if not hasattr(post, "extras"):
            post.extras = {}
    if _creating_send(posts, fresh=True):
        scheduled_posts_created.send(sender=ScheduledPost, scheduled_posts=posts)


def scheduled_posts_create(*, author, inputs: list[ScheduleInput]) -> list[ScheduledPost]:
    """Creates validated posts, all or nothing (see scheduled_posts_insert)."""
    rows = [
        ScheduledPost(
            author=author,
            text=item.text,
            publish_at=item.when.instant,
            due_at=item.when.instant,
            timezone=item.when.zone,
        )
        for item in inputs
    ]
    for row, item in zip(rows, inputs):
        row.extras = item.extras
    return scheduled_posts_insert(rows=rows)


def scheduled_post_create(*, author, text, publish_at, timezone_name=None, extras: dict | None = None,
                          now: datetime | None = None) -> ScheduledPost:
    item = schedule_input_clean(text=text, publish_at=publish_at, timezone_name=timezone_name, extras=extras, now=now)
    return scheduled_posts_create(author=author, inputs=[item])[0]


@dataclass(frozen=True)
class DraftInput:
    text: str
    zone: str


def draft_create(*, author, text, timezone_name=None) -> ScheduledPost:
    """Text kept for later, with no time: never claimed until scheduled or queued."""
    item = draft_input_clean(text=text, timezone_name=timezone_name)
    return ScheduledPost.objects.create(author=author, text=item.text, timezone=item.zone, status=Status.DRAFT)


def draft_input_clean(*, text, timezone_name=None) -> DraftInput:
    errors = {}
    text = post_text_check(text, errors=errors)
    zone = "UTC"
    if timezone_name:
        try:
            zone = zone_get(timezone_name).key
        except ValidationError as error:
            errors["timezone"] = error.messages
    if errors:
        raise ValidationError(errors)
    return DraftInput(text=text, zone=zone)


def _locked(*, scheduled_post_id: int, author=None) -> ScheduledPost:
    """The post, locked; an occurrence's series is locked first, in the order every series
    operation takes (series, then its posts), so that two of them never wait on each other."""
    series_id = ScheduledPost.objects.filter(pk=scheduled_post_id).values_list("series_id", flat=True).first()
    if series_id is not None:
        Series.objects.select_for_update().filter(pk=series_id).first()
    posts = ScheduledPost.objects.select_for_update()
    if author is not None:
        posts = posts.filter(author=author)
    return posts.get(pk=scheduled_post_id)


@transaction.atomic
def scheduled_post_update(
    *, scheduled_post_id: int, author, text=None, publish_at=None, timezone_name=None, extras: dict | None = None,
    now: datetime | None = None,
) -> ScheduledPost:
    """Changes text and/or time (and, through `extras`, what the apps above keep for the post,
    e.g. its destinations) while the post is not published (author=None: staff, any author's
    post). An edit wins over a claim in flight: the claim is dropped (version+1) and the
    node's callback will be refused."""
    post = _locked(scheduled_post_id=scheduled_post_id, author=author)
    if post.status in (Status.PUBLISHED, Status.CANCELLED):
        raise Conflict(f"This post is {post.status}; it can no longer be changed.")
    if text is not None or publish_at is not None:
        series_occurrence_detach(post=post)
    if extras:
        post.extras = extras  # a draft being scheduled is announced with them, not its author's default set
        scheduled_post_extras_changing.send(sender=ScheduledPost, scheduled_post=post, extras=extras)
    was_draft = post.status == Status.DRAFT
    errors = {}
    if text is not None:
        post.text = post_text_check(text, errors=errors)
    # A new text, or new destinations for the old one: it must fit every destination chosen.
    if (text is not None or "destinations" in (extras or {})) and "text" not in errors:
        try:
            scheduled_post_text_changing.send(sender=ScheduledPost, scheduled_post=post, text=post.text)
        except ValidationError as error:
            errors.update(error.message_dict)
    if publish_at is not None:
        try:
            when = publish_time_clean(publish_at=publish_at, timezone_name=timezone_name, now=now)
            post.publish_at = when.instant
            # A time with an offset but no zone moves the post; it keeps the zone it was written in.
            if timezone_name is not None:
                post.timezone = when.zone
            post.queued = False  # a time given by hand takes the post out of the queue
        except ValidationError as error:
            errors.update(error.message_dict)
    elif timezone_name is not None:
        errors["publish_at"] = ["Give publish_at together with timezone."]
    if errors:
        raise ValidationError(errors)
    if was_draft and post.publish_at is None:
        post.save()  # a draft's text: it stays a draft
        return post
    if was_draft:
        scheduled_posts_announce(posts=[post])  # its node, written by the save below
    scheduled_post_reschedule(post=post, publish_at=post.publish_at)
    return post


def _series_exclude(*, post: ScheduledPost, kind: str) -> None:
    """Adds the occurrence of `post` to its series' skipped or detached indexes (the series
    row locked), so the series never makes it again. Call before the post's time changes: the
    entry keeps where the occurrence fell."""
    series = Series.objects.select_for_update().get(pk=post.series_id)
    if post.series_index in series.excluded_indexes():
        return
    local = post.publish_at.astimezone(zone_get(series.timezone)).replace(tzinfo=None)
    setattr(series, kind, [*getattr(series, kind), {"index": post.series_index, "local": local.isoformat()}])
    series.save(update_fields=[kind, "updated_at"])


def series_occurrence_detach(*, post: ScheduledPost) -> None:
    """An occurrence of a series edited through its own post (PATCH /api/scheduled-posts/{id}/,
    its edit page) becomes a post of its own: the series' text, rule and stop leave it alone
    and the series never makes its index again. Call under the post's lock, before the edit."""
    if post.series_id is None or post.series_detached or post.series_index is None:
        return
    post.series_detached = True
    _series_exclude(post=post, kind="detached")


def scheduled_post_reschedule(*, post: ScheduledPost, publish_at: datetime) -> None:
    """Puts a locked post back to pending at publish_at. An edit wins over a claim in flight:
    the claim is dropped (version+1) and the node's callback will be refused."""
    post.publish_at = publish_at
    post.version += 1
    post.status = Status.PENDING
    post.due_at = publish_at
    post.attempts = 0
    post.last_error = ""
    post.claim_token = ""
    post.lease_until = None
    post.save()


@transaction.atomic
def scheduled_post_cancel(*, scheduled_post_id: int, author) -> ScheduledPost:
    post = _locked(scheduled_post_id=scheduled_post_id, author=author)
    if post.status == Status.PUBLISHED:
        raise Conflict("This post is already published; it can no longer be cancelled.")
    if post.status == Status.DRAFT:
        post.delete()  # a draft was never scheduled: deleting it loses nothing it promised
        return post
    if post.status != Status.CANCELLED:
        if post.series_id is not None and not post.series_detached:
            _series_exclude(post=post, kind="skipped")  # cancelled on its own: a skip
        post.status = Status.CANCELLED
        post.claim_token = ""
        post.lease_until = None
        post.save()
    return post


@transaction.atomic
def scheduled_post_delete(*, scheduled_post_id: int) -> None:
    """Deletes a scheduled post under its lock (staff, in the admin): a callback in flight
    either committed first (its Post stays, unlinked) or finds no post and publishes nothing."""
    try:
        _locked(scheduled_post_id=scheduled_post_id).delete()
    except ScheduledPost.DoesNotExist:
        pass


@transaction.atomic
def scheduled_post_retry(*, scheduled_post_id: int, author=None) -> ScheduledPost:
    post = _locked(scheduled_post_id=scheduled_post_id, author=author)
    if post.status != Status.FAILED:
        raise Conflict(f"Only failed posts can be retried; this one is {post.status}.")
    post.status = Status.PENDING
    post.attempts = 0
    post.due_at = db_now()
    post.save()
    return post


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


@transaction.atomic
def scheduled_posts_publish(*, node, claims: list[Claim], now: datetime | None = None) -> list[PublishResult]:
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
    now = now or db_now()  # published_at and lateness: the database clock
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
    created, failures = _posts_insert(node=node, ids=list(to_publish), now=now) if to_publish else ({}, {})
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


def _posts_insert(*, node, ids: list[int], now: datetime) -> tuple[dict[int, int], dict[int, str]]:
    """Publishes the checked, locked rows: the whole batch in one go, or, when the database
    refuses it, row by row. Returns ({id: its Post's id}, {id: reason} for the rows that
    could not be published)."""
    try:
        with transaction.atomic():
            return _posts_insert_set(node=node, ids=ids, now=now), {}
    except DatabaseError as error:
        if is_retryable(error):
            raise  # the transaction is gone: the caller runs it again
        logger.warning("publishing a batch of %s failed (%s); publishing its rows one by one", len(ids), error)
    created, failures = {}, {}
    for pk in ids:
        try:
            with transaction.atomic():
                created.update(_posts_insert_set(node=node, ids=[pk], now=now))
        except DatabaseError as error:
            if is_retryable(error):
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


@dataclass(frozen=True)
class ImportRow:
    line: int
    author: str
    text: str
    publish_at: str
    timezone: str
    # The id column of export_schedule's files: a row whose post is already here is skipped.
    id: str = ""
    rrule: str = ""  # a series starting at publish_at, when given
    # export_schedule's status column: "draft" (with an empty publish_at) imports a draft; the
    # other states are scheduled as new pending posts.
    status: str = ""


def _import_row_clean(row: ImportRow, now: datetime):
    """A ScheduleInput, a DraftInput for a draft's row, or for a row with an rrule a SeriesInput
    whose start is publish_at read as local time in the row's zone (an offset is converted to
    that zone)."""
    if row.status.strip() == Status.DRAFT:
        if row.publish_at.strip() or row.rrule.strip():
            raise ValidationError({"status": ["A draft has no publish_at and no rrule: leave them empty, or give another status."]})
        return draft_input_clean(text=row.text, timezone_name=row.timezone.strip() or None)
    if not row.rrule.strip():
        return schedule_input_clean(
            text=row.text, publish_at=row.publish_at, timezone_name=row.timezone.strip() or None, now=now
        )
    from .series import series_input_clean  # series builds on this module

    zone_name = row.timezone.strip() or "UTC"
    start = row.publish_at
    try:
        parsed = datetime.fromisoformat(row.publish_at.strip())
        if parsed.tzinfo is not None:
            start = parsed.astimezone(zone_get(zone_name)).replace(tzinfo=None)
    except (ValueError, ValidationError):
        pass  # series_input_clean names what is wrong
    try:
        return series_input_clean(text=row.text, start=start, timezone_name=zone_name, rrule_text=row.rrule, now=now)
    except ValidationError as error:
        # The start is the row's publish_at column.
        raise ValidationError({("publish_at" if field == "start" else field): messages
                               for field, messages in error.message_dict.items()}) from None


def schedule_rows_clean(*, rows: list[ImportRow], now: datetime | None = None) -> tuple[dict, list[str], int]:
    """Checks rows of an import. Returns the valid inputs grouped by author, one message per bad
    row ("line N: field: reason"), so a file is fixed in one go, and how many rows were skipped
    because their id is a post already here (a file from export_schedule imported again)."""
    now = now or db_now()
    authors = users_by_username(usernames=[row.author.strip() for row in rows])
    ids = [int(row.id) for row in rows if row.id.strip().isdigit()]
    existing = {pk: (author, text) for pk, author, text in scheduled_posts_same(ids=ids)}
    by_author, errors, skipped = {}, [], 0
    for row in rows:
        problems = []
        post_id = row.id.strip()
        if post_id and not post_id.isdigit():
            problems.append(f"id: {post_id[:20]!r} is not a post id; leave it empty for a new post")
        elif post_id and int(post_id) in existing:
            if existing[int(post_id)] == (row.author.strip(), row.text):
                skipped += 1
                continue
            problems.append(
                f"id: post #{post_id} exists here with another author or text; "
                "leave the id empty to schedule this row as a new post"
            )
        author = authors.get(row.author.strip())
        if author is None:
            problems.append(f"author: no user named {row.author.strip()!r}" if row.author.strip() else "author: missing")
        try:
            item = _import_row_clean(row, now)
        except ValidationError as error:
            problems += [f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()]
        if problems:
            errors.append(f"line {row.line}: " + "; ".join(problems))
        else:
            by_author.setdefault(author, []).append(item)
    return by_author, errors, skipped


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    skipped: int = 0
    authors: set = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


class ImportRefused(Exception):
    """Some rows are bad: nothing was imported. Carries the ImportReport with every bad row."""

    def __init__(self, report: ImportReport):
        super().__init__(f"{len(report.errors)} bad rows")
        self.report = report


IMPORT_CHUNK_ROWS = 1000


def _inputs_import(*, author, inputs: list) -> int:
    """Creates one author's checked rows: posts in one INSERT, drafts in another, series one by one."""
    from .series import series_insert  # series builds on this module

    posts = [item for item in inputs if isinstance(item, ScheduleInput)]
    created = len(scheduled_posts_create(author=author, inputs=posts)) if posts else 0
    drafts = [item for item in inputs if isinstance(item, DraftInput)]
    if drafts:
        created += len(ScheduledPost.objects.bulk_create(
            ScheduledPost(author=author, text=item.text, timezone=item.zone, status=Status.DRAFT) for item in drafts
        ))
    for item in inputs:
        if not isinstance(item, (ScheduleInput, DraftInput)):
            series_insert(author=author, item=item, capped=False)
            created += 1
    return created


def scheduled_posts_import(*, rows: Iterable[ImportRow], chunk_rows: int = IMPORT_CHUNK_ROWS, now: datetime | None = None) -> ImportReport:
    """Schedules every row of an import, read as a stream and written in chunks (one INSERT of
    at most chunk_rows rows each, far below MariaDB's max_allowed_packet), in one transaction:
    all or nothing. After a bad row the rest is only checked; then ImportRefused rolls back."""
    now = now or db_now()
    report = ImportReport()
    rows = iter(rows)
    with transaction.atomic():
        while chunk := list(islice(rows, chunk_rows)):
            by_author, errors, skipped = schedule_rows_clean(rows=chunk, now=now)
            report.rows += len(chunk)
            report.skipped += skipped
            report.errors += errors
            if report.errors:
                continue
            for author, inputs in by_author.items():
                report.created += _inputs_import(author=author, inputs=inputs)
                report.authors.add(author.pk)
        if report.errors:
            raise ImportRefused(report)
    return report
