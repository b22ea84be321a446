"""Importing a schedule (import_schedule's CSV rows): posts, drafts and series, checked row
by row so that a file is fixed in one go, then written all or nothing. Built on the services
and on series."""
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction

from psched.lib.db import db_now
from psched.lib.timeparse import zone_get

from .models import ScheduledPost
from .recurrence import series_input_clean
from .rules import DraftInput, ScheduleInput, draft_input_clean, schedule_input_clean
from .selectors import scheduled_posts_same, users_by_username
from .series import series_insert
from .services import drafts_insert, scheduled_posts_create

Status = ScheduledPost.Status


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
    posts = [item for item in inputs if isinstance(item, ScheduleInput)]
    created = len(scheduled_posts_create(author=author, inputs=posts)) if posts else 0
    drafts = [item for item in inputs if isinstance(item, DraftInput)]
    if drafts:
        created += len(drafts_insert(rows=[
            ScheduledPost(author=author, text=item.text, timezone=item.zone, status=Status.DRAFT) for item in drafts
        ]))
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
