"""Writes to scheduled posts: the state machine's transitions that people and the API make
(create, edit, cancel, retry, delete). What a valid post is lives in rules.py; the node's
callback is publishing.py; an import is importing.py."""
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from feed.services import post_text_check
from psched.lib.db import RowInsert, db_now
from psched.lib.errors import Conflict
from psched.lib.timeparse import zone_get

from .models import ScheduledPost, Series
from .rules import ScheduleInput, draft_input_clean, publish_time_clean, schedule_input_clean
from .signals import (
    drafts_created,
    scheduled_post_extras_changing,
    scheduled_post_text_changing,
    scheduled_posts_created,
    scheduled_posts_creating,
)

Status = ScheduledPost.Status


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
    item = schedule_input_clean(
        text=text, publish_at=publish_at, timezone_name=timezone_name, extras=extras, now=now or db_now()
    )
    return scheduled_posts_create(author=author, inputs=[item])[0]


def drafts_insert(*, rows: list[ScheduledPost]) -> list[ScheduledPost]:
    """Inserts new drafts, all or nothing, and tells the apps above in the same transaction
    (drafts_created: destinations keeps what each draft will be sent to). Each row may carry
    `extras`, the request's fields for them (e.g. its destinations)."""
    for row in rows:
        if not hasattr(row, "extras"):
            row.extras = {}
    with transaction.atomic():
        if len(rows) > 1 and connection.features.can_return_rows_from_bulk_insert:
            ScheduledPost.objects.bulk_create(rows)
        else:  # MySQL 8 returns no ids from a multi-row INSERT, and the receivers need them
            for row in rows:
                row.save(force_insert=True)
        drafts_created.send(sender=ScheduledPost, scheduled_posts=rows)
    return rows


def draft_create(*, author, text, timezone_name=None, extras: dict | None = None) -> ScheduledPost:
    """Text kept for later, with no time: never claimed until scheduled or queued. `extras`:
    for the apps above, e.g. the destinations it will be sent to (default: the author's
    default set as it is now)."""
    item = draft_input_clean(text=text, timezone_name=timezone_name)
    draft = ScheduledPost(author=author, text=item.text, timezone=item.zone, status=Status.DRAFT)
    draft.extras = extras or {}
    return drafts_insert(rows=[draft])[0]


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
            when = publish_time_clean(publish_at=publish_at, timezone_name=timezone_name, now=now or db_now())
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


