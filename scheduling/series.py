"""Series: recurring posts kept as rows, and their occurrences materialized ahead of time as
ordinary scheduled posts (created, edited, stopped; the job that materializes them). What an
RRULE means and which occurrences it has is recurrence.py's (pure); this module writes."""
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from feed.services import post_text_check
from psched.lib.db import db_now
from psched.lib.errors import Conflict
from psched.lib.timeparse import zone_get

from .models import ScheduledPost, Series
from .recurrence import Occurrence, RuleTooCostly, SeriesInput, _from_cursor, rule_parse, series_input_clean
from .rules import MAX_SCHEDULE_AHEAD
from .services import scheduled_post_reschedule, scheduled_posts_insert
from .signals import series_extras_changing

logger = logging.getLogger("scheduling")
Status = ScheduledPost.Status
# Posts one materialization may create for one series.
MATERIALIZE_LIMIT = 1000
NOT_PUBLISHED = (Status.PENDING, Status.PUBLISHING, Status.FAILED)


def series_create(*, author, text, start, timezone_name, rrule_text, admit=None, now: datetime | None = None,
                  extras: dict | None = None) -> Series:
    now = now or db_now()
    item = series_input_clean(text=text, start=start, timezone_name=timezone_name, rrule_text=rrule_text, now=now)
    return series_insert(author=author, item=item, admit=admit, now=now, extras=extras)


def _active_cap_check(*, author) -> None:
    cap = settings.PSCHED_MAX_ACTIVE_SERIES
    if Series.objects.filter(author=author, active=True).count() >= cap:
        raise ValidationError({"non_field_errors": [
            f"You have {cap} active series, the most allowed: stop one before you create another."
        ]})


def series_insert(*, author, item: SeriesInput, admit=None, capped: bool = True, now: datetime | None = None,
                  extras: dict | None = None) -> Series:
    """Creates a validated series and materializes its coming occurrences (the count made is
    in series.made). admit(made), when given, may refuse them by raising: nothing stays.
    capped=False (import_schedule, an operator's command) skips PSCHED_MAX_ACTIVE_SERIES.
    `now`: the database clock (a request's request_now, else read here). `extras`: what the
    apps above keep for the series (series_extras_changing), e.g. its destinations."""
    now = now or db_now()
    with transaction.atomic():
        if capped:
            # The author's row, locked: two requests at once cannot both pass the cap.
            get_user_model().objects.select_for_update().filter(pk=author.pk).first()
            _active_cap_check(author=author)
        series = Series.objects.create(
            author=author, text=item.text, start=item.start, timezone=item.zone, rrule=item.rrule,
            # Occurrences before the series was made are not made up for.
            materialized_until=now,
        )
        if extras:
            series_extras_changing.send(sender=Series, series=series, extras=extras)
        made = series_materialize(series_id=series.pk, now=now)
        if admit is not None:
            admit(made)
    series.refresh_from_db()
    series.made = made
    return series


def occurrence_post(*, series: Series, occurrence: Occurrence) -> ScheduledPost:
    """The (unsaved) pending post of one occurrence."""
    return ScheduledPost(
        author_id=series.author_id, text=series.text, publish_at=occurrence.instant, due_at=occurrence.instant,
        timezone=series.timezone, series=series, series_index=occurrence.index,
    )


def _ahead() -> timedelta:
    return timedelta(seconds=settings.PSCHED_SERIES_AHEAD_SECONDS)


@transaction.atomic
def series_materialize(*, series_id: int, now: datetime | None = None) -> int:
    """Creates the series' occurrences due up to now + PSCHED_SERIES_AHEAD_SECONDS as ordinary
    pending posts, routed like any new post, walking from the series' cursor, which it moves
    to the last occurrence that is not ahead of now. Idempotent: the series row is locked and
    materialized_until moves past what was created. One that was missed (the job was away)
    is still created, and published late. Returns how many were created."""
    series = Series.objects.select_for_update().get(pk=series_id)
    if not series.active or series.error:
        return 0
    now = now or db_now()
    window_end = now + _ahead()
    done_until = series.materialized_until
    if done_until is not None and done_until >= window_end:
        return 0
    rule = rule_parse(series.rrule)
    rows, passed, final, last = [], None, None, None
    exhausted = True
    excluded = series.excluded_indexes()
    for occurrence in _from_cursor(series=series, rule=rule, until=window_end):
        final = occurrence
        if occurrence.instant <= now:
            passed = occurrence  # the cursor: the last occurrence that is not ahead
        if done_until is not None and occurrence.instant <= done_until:
            continue
        if occurrence.index in excluded:
            continue  # skipped, or a post of its own now
        if len(rows) == MATERIALIZE_LIMIT:
            exhausted = False
            break
        rows.append(occurrence_post(series=series, occurrence=occurrence))
        last = occurrence.instant
    if rows:
        scheduled_posts_insert(rows=rows)
    if passed is not None:
        series.cursor_local, series.cursor_index = passed.local, passed.index
    series.materialized_until = window_end if exhausted else last
    window_local = window_end.astimezone(zone_get(series.timezone)).replace(tzinfo=None)
    ended = (rule.count is not None and final is not None and final.index >= rule.count) or (
        rule.until is not None and rule.until < window_local)
    if exhausted and ended:
        # The rule has ended: the job need not look at it again (a new rule resets this).
        series.materialized_until = window_end + MAX_SCHEDULE_AHEAD
    series.save(update_fields=["materialized_until", "cursor_local", "cursor_index", "updated_at"])
    return len(rows)


def _failure_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "Its rule is no longer accepted: " + " ".join(error.messages) + " Change the rule or stop the series."
    if isinstance(error, RuleTooCostly):
        return "Its rule matches too rarely to expand in time. Change the rule or stop the series."
    return f"Its occurrences could not be made ({error.__class__.__name__}). Change the rule or stop the series."


def series_fail(*, series_id: int, reason: str) -> None:
    """Marks a series failed: the job leaves it alone until its rule is changed; its author
    sees `reason` on /scheduled/ and in the API."""
    Series.objects.filter(pk=series_id).update(error=reason[:1000], updated_at=timezone.now())


def series_materialize_due(*, now: datetime | None = None) -> int:
    """The periodic job: every active series whose materialized window falls short. A series
    whose rule cannot be expanded is marked failed and the job goes on with the others."""
    now = now or db_now()
    ids = Series.objects.filter(active=True, error="", materialized_until__lt=now + _ahead()).values_list("pk", flat=True)
    made = 0
    for pk in list(ids):
        try:
            made += series_materialize(series_id=pk, now=now)
        except DatabaseError:
            logger.exception("series %s: its occurrences could not be written; the next run tries again", pk)
        except Exception as error:  # noqa: BLE001 — a bad rule must not stop the job for the others
            logger.warning("series %s failed: %r", pk, error)
            series_fail(series_id=pk, reason=_failure_text(error))
    return made


def _not_published(series: Series):
    """The occurrences the series still governs: not published, not detached."""
    return ScheduledPost.objects.filter(series=series, status__in=NOT_PUBLISHED, series_detached=False)


def series_update(*, series_id: int, author, text=None, start=None, timezone_name=None, rrule_text=None,
                  admit=None, now: datetime | None = None, extras: dict | None = None) -> Series:
    """A new text goes to every occurrence not yet published. A new rule, start or zone cancels
    those occurrences and materializes the new ones from now on (series.made: how many;
    admit(made), when given, may refuse them by raising). Everything is checked before the
    series is locked."""
    now = now or db_now()
    series = Series.objects.get(pk=series_id, author=author)
    rule_changed = any(value is not None for value in (start, timezone_name, rrule_text))
    kept = (series.start, series.timezone, series.rrule)
    if rule_changed:
        item = series_input_clean(
            text=series.text if text is None else text,
            start=series.start if start is None else start,
            timezone_name=series.timezone if timezone_name is None else timezone_name,
            rrule_text=series.rrule if rrule_text is None else rrule_text,
            start_age_check=start is not None, now=now,
        )
    else:
        errors = {}
        new_text = post_text_check(series.text if text is None else text, errors=errors)
        if errors:
            raise ValidationError(errors)
        item = SeriesInput(text=new_text, start=series.start, zone=series.timezone, rrule=series.rrule)
    with transaction.atomic():
        series = Series.objects.select_for_update().get(pk=series_id, author=author)
        if not series.active:
            raise Conflict("This series is stopped; create a new one.")
        if (series.start, series.timezone, series.rrule) != kept:
            raise Conflict("This series was changed meanwhile; load it again and retry.")
        series.text, series.start, series.timezone, series.rrule = item.text, item.start, item.zone, item.rrule
        if extras or text is not None:
            # e.g. its destinations, for the occurrences it governs and those it makes; a new
            # text alone, to be checked against where the series goes (a Bluesky post's limit)
            series_extras_changing.send(sender=Series, series=series, extras=extras or {})
        made = 0
        if rule_changed:
            _cancel(_not_published(series))
            series.materialized_until = now
            series.cursor_local, series.cursor_index, series.error = None, 1, ""
        elif text is not None:  # a change of destinations alone leaves the posts' times and claims alone
            for post in _not_published(series).select_for_update().order_by("pk"):
                post.text = item.text
                scheduled_post_reschedule(post=post, publish_at=post.publish_at)
        series.save()
        if rule_changed:
            made = series_materialize(series_id=series.pk, now=now)
            if admit is not None:
                admit(made)
            series.refresh_from_db()
    series.made = made
    return series


def _cancel(posts) -> int:
    # Drops any claim in flight: the node's callback is refused by the claim check.
    return posts.release_claims(status=Status.CANCELLED, updated_at=timezone.now())


@transaction.atomic
def series_stop(*, series_id: int, author) -> int:
    """Stops the series and cancels its occurrences not yet published; returns how many."""
    series = Series.objects.select_for_update().get(pk=series_id, author=author)
    series.active = False
    series.save(update_fields=["active", "updated_at"])
    return _cancel(_not_published(series))
