"""One occurrence of a series: edit it on its own ("only this one"), edit it and the following
ones (the series ends before it, a new series continues it), skip it, restore it.

An occurrence is named by its index along the rule (1-based, counted from the series' start,
as series_index). The series keeps the indexes it must never make again (Series.skipped,
Series.detached), so a later change of the rule or of the materialized window does not bring
them back. Every walk to an index is one bounded walk (series._walk: the EXPANSION budget),
from the series' cursor when the index is at or after it, else from the start."""
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from feed.services import post_text_check
from psched.lib.db import db_now
from psched.lib.errors import Conflict
from psched.lib.timeparse import zone_get

from .models import ScheduledPost, Series
from .recurrence import Occurrence, Rule, RuleTooCostly, _from_cursor, _walk, rule_parse, series_input_clean
from .rules import MAX_SCHEDULE_AHEAD, publish_time_clean
from .series import _not_published, occurrence_post, series_materialize
from .services import scheduled_post_reschedule, scheduled_posts_insert

Status = ScheduledPost.Status
# Entries one series may keep in skipped (and in detached): each materialization reads them.
MAX_EXCLUDED = 1000
SCOPES = ("this", "following")


def _refuse(message: str) -> ValidationError:
    return ValidationError({"index": [message]})


def occurrence_find(*, series: Series, rule: Rule, index: int, now: datetime | None = None) -> Occurrence:
    """The occurrence `index` of the series' current rule; a 400 naming index when the rule
    never makes it (out of range, collapsed onto another by a DST gap, more than five years
    ahead, or too rare to reach within the budget)."""
    now = now or db_now()
    never = _refuse(
        f"Series #{series.pk} has no occurrence {index}: its rule makes occurrences 1"
        + (f" to {rule.count}" if rule.count else " onwards") + " (the first five years ahead)."
    )
    if index < 1 or (rule.count is not None and index > rule.count):
        raise never
    until = now + MAX_SCHEDULE_AHEAD
    if series.cursor_local is not None and index >= series.cursor_index:
        walk = _from_cursor(series=series, rule=rule, until=until)
    else:
        walk = _walk(rule=rule, start=series.start, zone_name=series.timezone, dtstart=series.start, index=1,
                     count=rule.count, until=until)
    try:
        for occurrence in walk:
            if occurrence.index == index:
                return occurrence
            if occurrence.index > index:
                break  # `index` fell on an instant already given (a DST gap): it is not made
    except RuleTooCostly:
        pass
    raise never


def _indexes(entries: list) -> set[int]:
    return {entry["index"] for entry in entries}


def _entry(occurrence: Occurrence) -> dict:
    return {"index": occurrence.index, "local": occurrence.local.isoformat()}


def _live_post(series: Series, index: int) -> ScheduledPost | None:
    """The occurrence's post that is not cancelled, locked (the newest, should there be two)."""
    return (ScheduledPost.objects.select_for_update().filter(series=series, series_index=index)
            .exclude(status=Status.CANCELLED).order_by("-pk").first())


def _locked_series(*, series_id: int, author) -> Series:
    series = Series.objects.select_for_update().get(pk=series_id, author=author)
    if not series.active:
        raise Conflict("This series is stopped; its occurrences can no longer be changed.")
    return series


def _not_published_check(post: ScheduledPost | None, index: int) -> None:
    if post is None:
        return
    if post.status == Status.PUBLISHED:
        raise _refuse(f"Occurrence {index} is already published (post #{post.pk}); it can no longer be changed.")
    if post.status == Status.PUBLISHING:
        raise _refuse(f"Occurrence {index} is being published right now; it can no longer be changed.")


def _time_clean(*, series: Series, publish_at, timezone_name, now: datetime):
    """A new time for an occurrence: ISO 8601 with an offset, or a local time read in
    `timezone_name`, else in the series' zone."""
    return publish_time_clean(publish_at=publish_at, timezone_name=timezone_name or series.timezone, now=now)


def _text_clean(text) -> str:
    errors = {}
    text = post_text_check(text, errors=errors)
    if errors:
        raise ValidationError(errors)
    return text


def _scope_clean(scope) -> str:
    scope = scope or "this"
    if scope not in SCOPES:
        raise ValidationError({"scope": ['Give "this" (only this occurrence) or "following" (this and the following ones).']})
    return scope


def _nothing_check(text, publish_at) -> None:
    if text is None and publish_at is None:
        raise ValidationError({"non_field_errors": ["Send text and/or publish_at to change."]})


def occurrence_update(*, series_id: int, index: int, author, text=None, publish_at=None, timezone_name=None,
                      now: datetime | None = None) -> ScheduledPost:
    """Only this one: the occurrence becomes a post of its own (series and series_index kept,
    series_detached set) with the new text and/or time; the series never makes the index
    again. Made now when it was not made yet."""
    _nothing_check(text, publish_at)
    now = now or db_now()
    new_text = None if text is None else _text_clean(text)
    with transaction.atomic():
        series = _locked_series(series_id=series_id, author=author)
        when = None if publish_at is None else _time_clean(series=series, publish_at=publish_at, timezone_name=timezone_name, now=now)
        occurrence = occurrence_find(series=series, rule=rule_parse(series.rrule), index=index, now=now)
        if index in _indexes(series.skipped):
            raise _refuse(f"Occurrence {index} is skipped; restore it before you change it.")
        post = _live_post(series, index)
        _not_published_check(post, index)
        if post is None and index in _indexes(series.detached):
            raise _refuse(f"Occurrence {index} was cancelled as a post of its own; schedule a new post instead.")
        if post is None and when is None and occurrence.instant <= now:
            raise _refuse(f"Occurrence {index} is past; give it a new publish_at to make it a post of its own.")
        fresh = post is None
        if fresh:
            post = occurrence_post(series=series, occurrence=occurrence)
        post.series_detached = True
        if new_text is not None:
            post.text = new_text
        if when is not None:
            post.publish_at, post.timezone, post.queued = when.instant, when.zone, False
        if fresh:
            post.due_at = post.publish_at
            scheduled_posts_insert(rows=[post])
        else:
            scheduled_post_reschedule(post=post, publish_at=post.publish_at)
        if index not in _indexes(series.detached):
            _excluded_cap_check(series.detached)
            series.detached = [*series.detached, _entry(occurrence)]
            series.save(update_fields=["detached", "updated_at"])
    return post


def _excluded_cap_check(entries: list) -> None:
    if len(entries) >= MAX_EXCLUDED:
        raise _refuse(f"This series already has {MAX_EXCLUDED} skipped or separately edited occurrences, the most "
                      "allowed: edit this and the following occurrences instead, which starts a new series.")


def _rule_ending(rule: Rule, *, index: int, occurrence: Occurrence) -> str:
    """The rule cut to end just before occurrence `index`: COUNT=index-1 where it counts,
    else UNTIL one second before the occurrence's local time."""
    parts = [part for part in rule.text.split(";") if not part.startswith(("COUNT=", "UNTIL="))]
    if rule.count is not None:
        parts.append(f"COUNT={index - 1}")
    else:
        parts.append(f"UNTIL={occurrence.local - timedelta(seconds=1):%Y%m%dT%H%M%S}")
    return ";".join(parts)


def _rule_continuing(rule: Rule, *, index: int) -> str:
    """The rule for the series that continues from occurrence `index`: the rest of a COUNT."""
    if rule.count is None:
        return rule.text
    parts = [part for part in rule.text.split(";") if not part.startswith("COUNT=")]
    return ";".join([*parts, f"COUNT={rule.count - index + 1}"])


def _carried(entries: list, *, index: int) -> list:
    """Entries at or after `index`, renumbered for the series that continues from there."""
    return [{"index": entry["index"] - index + 1, "local": entry["local"]} for entry in entries if entry["index"] >= index]


def occurrences_update_following(*, series_id: int, index: int, author, text=None, publish_at=None,
                                 timezone_name=None, now: datetime | None = None) -> Series:
    """This and the following ones: the series ends just before occurrence `index` and a new
    series (continues=the old one) starts there with the change: the new text, and/or the new
    time as its start (a time of day moved moves every following occurrence). Occurrences
    already published or detached stay as they are; skipped and detached indexes after it stay
    out of the new series. Returns the new series."""
    _nothing_check(text, publish_at)
    now = now or db_now()
    new_text = None if text is None else _text_clean(text)
    with transaction.atomic():
        series = _locked_series(series_id=series_id, author=author)
        rule = rule_parse(series.rrule)
        occurrence = occurrence_find(series=series, rule=rule, index=index, now=now)
        post = _live_post(series, index)
        _not_published_check(post, index)
        if occurrence.instant <= now:
            raise _refuse(f"Occurrence {index} is past; change the following ones from a later occurrence.")
        if publish_at is None:
            zone, start = series.timezone, occurrence.local
        else:
            when = _time_clean(series=series, publish_at=publish_at, timezone_name=timezone_name, now=now)
            zone = when.zone
            start = when.instant.astimezone(zone_get(zone)).replace(tzinfo=None)
        item = series_input_clean(
            text=series.text if new_text is None else new_text, start=start, timezone_name=zone,
            rrule_text=_rule_continuing(rule, index=index), now=now, start_age_check=False,
        )
        _not_published(series).filter(series_index__gte=index).release_claims(
            status=Status.CANCELLED, updated_at=timezone.now())
        if index == 1:
            series.active = False  # the new series replaces all of it
        else:
            series.rrule = _rule_ending(rule, index=index, occurrence=occurrence)
        series.save(update_fields=["rrule", "active", "updated_at"])
        continuing = Series.objects.create(
            author=series.author, text=item.text, start=item.start, timezone=item.zone, rrule=item.rrule,
            continues=series, materialized_until=now,
            skipped=_carried(series.skipped, index=index), detached=_carried(series.detached, index=index),
        )
        series_materialize(series_id=continuing.pk)
    continuing.refresh_from_db()
    return continuing


def occurrence_skip(*, series_id: int, index: int, author, now: datetime | None = None) -> Series:
    """Skips occurrence `index` (kept in Series.skipped, by index); its pending post, when
    made already, is cancelled."""
    now = now or db_now()
    with transaction.atomic():
        series = _locked_series(series_id=series_id, author=author)
        occurrence = occurrence_find(series=series, rule=rule_parse(series.rrule), index=index, now=now)
        if index in _indexes(series.skipped):
            raise _refuse(f"Occurrence {index} is already skipped.")
        if index in _indexes(series.detached):
            raise _refuse(f"Occurrence {index} is a post of its own now; cancel that post instead.")
        post = _live_post(series, index)
        _not_published_check(post, index)
        if post is None and occurrence.instant <= now:
            raise _refuse(f"Occurrence {index} is past; there is nothing to skip.")
        _excluded_cap_check(series.skipped)
        if post is not None:
            ScheduledPost.objects.filter(pk=post.pk).release_claims(status=Status.CANCELLED, updated_at=timezone.now())
        series.skipped = [*series.skipped, _entry(occurrence)]
        series.save(update_fields=["skipped", "updated_at"])
    return series


def occurrence_restore(*, series_id: int, index: int, author, now: datetime | None = None) -> Series:
    """Takes occurrence `index` out of the skipped ones while it is still ahead; its post is
    made now when the series' window has passed it, else by the job in time."""
    now = now or db_now()
    with transaction.atomic():
        series = _locked_series(series_id=series_id, author=author)
        if index not in _indexes(series.skipped):
            raise _refuse(f"Occurrence {index} is not skipped; there is nothing to restore.")
        occurrence = occurrence_find(series=series, rule=rule_parse(series.rrule), index=index, now=now)
        if occurrence.instant <= now:
            raise _refuse(f"Occurrence {index} is past; it can no longer be restored.")
        series.skipped = [entry for entry in series.skipped if entry["index"] != index]
        series.save(update_fields=["skipped", "updated_at"])
        if series.materialized_until is not None and occurrence.instant <= series.materialized_until:
            scheduled_posts_insert(rows=[occurrence_post(series=series, occurrence=occurrence)])
    return series

