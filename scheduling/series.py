"""Recurring posts: an RFC 5545 RRULE (python-dateutil) expanded from a local wall-clock start
in an IANA zone, and its occurrences materialized ahead of time as ordinary scheduled posts.

Time rules, the same as the queue's slots:
- the rule is expanded on naive local times, then each occurrence is read in the zone, so
  09:00 stays 09:00 on both sides of a DST change;
- an occurrence that falls in a DST gap (02:30 on the spring change in Europe/Paris) moves
  forward by the gap (03:30 local, the same instant zoneinfo gives with fold=0);
- one that happens twice (the autumn fold) is the first one.
"""
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Iterator

from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from feed.services import post_text_check
from psched.lib.errors import Conflict
from psched.lib.timeparse import UTC, zone_get

from .models import ScheduledPost, Series
from .services import MAX_SCHEDULE_AHEAD, scheduled_post_reschedule, scheduled_posts_insert

Status = ScheduledPost.Status
# Occurrences checked against PSCHED_SERIES_MIN_SECONDS.
GAP_CHECK_OCCURRENCES = 50
# A start further back would make every expansion walk a long history.
MAX_START_AGE = timedelta(days=366)
# Posts one materialization may create for one series.
MATERIALIZE_LIMIT = 1000
NOT_PUBLISHED = (Status.PENDING, Status.PUBLISHING, Status.FAILED)
_STEP_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600}


@dataclass(frozen=True)
class Occurrence:
    index: int  # 1-based, counted along the rule from start
    local: datetime  # naive wall-clock time in the series' zone
    instant: datetime  # aware, UTC


@dataclass(frozen=True)
class SeriesInput:
    text: str
    start: datetime  # naive, local
    zone: str
    rrule: str


def rule_parse(*, rrule_text, start: datetime) -> RRule:
    """One RRULE (with or without the "RRULE:" prefix) on a naive local start; ValidationError
    naming rrule otherwise."""
    if not isinstance(rrule_text, str) or not rrule_text.strip():
        raise ValidationError({"rrule": ["Give an RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10."]})
    text = rrule_text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if len(text) > 400 or not re.fullmatch(r"[A-Za-z0-9=;,+\-:]+", text) or "DTSTART" in text.upper():
        raise ValidationError({"rrule": [
            "Give one RRULE line such as FREQ=DAILY;COUNT=5 (the start goes in the start field)."
        ]})
    try:
        rule = rrulestr(text, dtstart=start)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as error:
        raise ValidationError({"rrule": [f"This RRULE is not valid: {str(error)[:200] or 'check it'}."]}) from None
    if not isinstance(rule, RRule):
        raise ValidationError({"rrule": ["Give a single RRULE."]})
    if rule._until is not None and rule._until.tzinfo is not None:  # dateutil keeps no public accessor
        raise ValidationError({"rrule": ["Write UNTIL as a local time without Z, e.g. UNTIL=20271231T235959."]})
    return rule


def _frequency_name(rrule_text: str) -> str:
    match = re.search(r"FREQ=([A-Z]+)", rrule_text.upper())
    return match.group(1) if match else ""


def _interval(rrule_text: str) -> int:
    match = re.search(r"INTERVAL=(\d+)", rrule_text.upper())
    return int(match.group(1)) if match else 1


def occurrences(*, rrule_text: str, start: datetime, zone_name: str, until: datetime) -> Iterator[Occurrence]:
    """The rule's occurrences up to `until` (UTC), numbered from 1 along the rule."""
    rule = rule_parse(rrule_text=rrule_text, start=start)
    zone = zone_get(zone_name)
    # Bounded by `until`, so that a rule that never matches (BYMONTH=2;BYMONTHDAY=30) stops.
    local_limit = (until + timedelta(days=2)).astimezone(zone).replace(tzinfo=None)
    count = rule._count
    rule_until = rule._until
    bounded = rule.replace(count=None, until=min(rule_until, local_limit) if rule_until else local_limit)
    for index, local in enumerate(bounded, start=1):
        if count is not None and index > count:
            return
        instant = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if instant > until:
            return
        yield Occurrence(index=index, local=local, instant=instant)


def series_input_clean(*, text, start, timezone_name, rrule_text, now: datetime | None = None) -> SeriesInput:
    """Validates a series; raises ValidationError naming each bad field (text, start,
    timezone, rrule)."""
    now = now or timezone.now()
    errors = {}
    text = post_text_check(text, errors=errors)
    zone = None
    try:
        zone = zone_get(timezone_name).key
    except ValidationError as error:
        errors["timezone"] = error.messages
    local = None
    try:
        local = _start_parse(start)
    except ValidationError as error:
        errors["start"] = error.messages
    if local is not None and zone is not None:
        try:
            instant = local.replace(tzinfo=zone_get(zone)).astimezone(UTC)
        except OverflowError:
            instant = None
        if instant is None or instant > now + MAX_SCHEDULE_AHEAD:
            errors["start"] = ["The start is more than five years ahead; check the year."]
        elif instant < now - MAX_START_AGE:
            errors["start"] = ["The start is more than a year ago; start the series from a recent date."]
    if local is not None and zone is not None and "start" not in errors:
        try:
            rule_check(rrule_text=rrule_text, start=local, zone_name=zone, now=now)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    rule_text = rrule_text.strip()
    if rule_text.upper().startswith("RRULE:"):
        rule_text = rule_text[6:]
    return SeriesInput(text=text, start=local, zone=zone, rrule=rule_text.upper())


def _start_parse(value) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("Give the first date and time, local to the zone, e.g. 2031-07-01T09:00.")
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"{value[:40]!r} is not a date and time; write e.g. 2031-07-01T09:00.") from None
    if parsed.tzinfo is not None:
        raise ValidationError(
            "Give the start as a local time without an offset (e.g. 2031-07-01T09:00) and the zone in "
            "timezone: occurrences keep that wall-clock time across DST."
        )
    return parsed.replace(microsecond=0)


def rule_check(*, rrule_text, start: datetime, zone_name: str, now: datetime) -> None:
    """400s naming rrule: not a rule, no occurrence ahead, or more frequent than
    PSCHED_SERIES_MIN_SECONDS (the smallest gap between the first occurrences, and for
    sub-daily frequencies the rule's step, which also bounds how long an expansion takes)."""
    rule_parse(rrule_text=rrule_text, start=start)
    minimum = settings.PSCHED_SERIES_MIN_SECONDS
    text = rrule_text.strip().upper()
    step = _STEP_SECONDS.get(_frequency_name(text))
    if step is not None and step * _interval(text) < minimum:
        raise ValidationError({"rrule": [
            f"FREQ={_frequency_name(text)} with INTERVAL={_interval(text)} repeats more often than every "
            f"{minimum} seconds, the minimum interval; use a larger INTERVAL or a coarser FREQ."
        ]})
    horizon = now + MAX_SCHEDULE_AHEAD
    first = list(islice(occurrences(rrule_text=rrule_text, start=start, zone_name=zone_name, until=horizon),
                        GAP_CHECK_OCCURRENCES))
    for earlier, later in zip(first, first[1:]):
        gap = (later.instant - earlier.instant).total_seconds()
        if gap < minimum:
            raise ValidationError({"rrule": [
                f"Occurrences {earlier.index} and {later.index} are {gap:g} seconds apart; a series may "
                f"repeat at most every {minimum} seconds."
            ]})
    found = occurrences(rrule_text=rrule_text, start=start, zone_name=zone_name, until=horizon)
    if not any(o.instant > now for o in found):
        raise ValidationError({"rrule": [
            "This rule has no occurrence after now (within five years): check the start, COUNT, UNTIL and the BY… parts."
        ]})


def series_next(*, series: Series, now: datetime | None = None, limit: int = 5) -> list[Occurrence]:
    """The next occurrences after now, for display; [] once stopped."""
    if not series.active:
        return []
    now = now or timezone.now()
    found = occurrences(rrule_text=series.rrule, start=series.start, zone_name=series.timezone,
                        until=now + MAX_SCHEDULE_AHEAD)
    return list(islice((o for o in found if o.instant > now), limit))


def series_create(*, author, text, start, timezone_name, rrule_text) -> Series:
    item = series_input_clean(text=text, start=start, timezone_name=timezone_name, rrule_text=rrule_text)
    return series_insert(author=author, item=item)


def series_insert(*, author, item: SeriesInput) -> Series:
    """Creates a validated series and materializes its coming occurrences."""
    with transaction.atomic():
        series = Series.objects.create(
            author=author, text=item.text, start=item.start, timezone=item.zone, rrule=item.rrule,
            # Occurrences before the series was made are not made up for.
            materialized_until=timezone.now(),
        )
        series_materialize(series_id=series.pk)
    series.refresh_from_db()
    return series


def _ahead() -> timedelta:
    return timedelta(seconds=settings.PSCHED_SERIES_AHEAD_SECONDS)


@transaction.atomic
def series_materialize(*, series_id: int, now: datetime | None = None) -> int:
    """Creates the series' occurrences due up to now + PSCHED_SERIES_AHEAD_SECONDS as ordinary
    pending posts, routed like any new post. Idempotent: the series row is locked and
    materialized_until moves past what was created. One that was missed (the job was away)
    is still created, and published late. Returns how many were created."""
    series = Series.objects.select_for_update().get(pk=series_id)
    if not series.active:
        return 0
    now = now or timezone.now()
    window_end = now + _ahead()
    done_until = series.materialized_until
    if done_until is not None and done_until >= window_end:
        return 0
    rows, last = [], None
    exhausted = True
    for occurrence in occurrences(rrule_text=series.rrule, start=series.start, zone_name=series.timezone, until=window_end):
        if done_until is not None and occurrence.instant <= done_until:
            continue
        if len(rows) == MATERIALIZE_LIMIT:
            exhausted = False
            break
        rows.append(ScheduledPost(
            author_id=series.author_id, text=series.text, publish_at=occurrence.instant, due_at=occurrence.instant,
            timezone=series.timezone, series=series, series_index=occurrence.index,
        ))
        last = occurrence.instant
    if rows:
        scheduled_posts_insert(rows=rows)
    series.materialized_until = window_end if exhausted else last
    if exhausted and not series_next(series=series, now=window_end, limit=1):
        # The rule has ended: the job need not look at it again (a new rule resets this).
        series.materialized_until = window_end + MAX_SCHEDULE_AHEAD
    series.save(update_fields=["materialized_until", "updated_at"])
    return len(rows)


def series_materialize_due(*, now: datetime | None = None) -> int:
    """The periodic job: every active series whose materialized window falls short."""
    now = now or timezone.now()
    ids = Series.objects.filter(active=True, materialized_until__lt=now + _ahead()).values_list("pk", flat=True)
    return sum(series_materialize(series_id=pk, now=now) for pk in list(ids))


def _not_published(series: Series):
    return ScheduledPost.objects.filter(series=series, status__in=NOT_PUBLISHED)


@transaction.atomic
def series_update(*, series_id: int, author, text=None, start=None, timezone_name=None, rrule_text=None) -> Series:
    """A new text goes to every occurrence not yet published. A new rule, start or zone cancels
    those occurrences and materializes the new ones from now on."""
    series = Series.objects.select_for_update().get(pk=series_id, author=author)
    if not series.active:
        raise Conflict("This series is stopped; create a new one.")
    rule_changed = any(value is not None for value in (start, timezone_name, rrule_text))
    item = series_input_clean(
        text=series.text if text is None else text,
        start=series.start if start is None else start,
        timezone_name=series.timezone if timezone_name is None else timezone_name,
        rrule_text=series.rrule if rrule_text is None else rrule_text,
    )
    series.text, series.start, series.timezone, series.rrule = item.text, item.start, item.zone, item.rrule
    if rule_changed:
        _cancel(_not_published(series))
        series.materialized_until = timezone.now()
    else:
        for post in _not_published(series).select_for_update().order_by("pk"):
            post.text = item.text
            scheduled_post_reschedule(post=post, publish_at=post.publish_at)
    series.save()
    if rule_changed:
        series_materialize(series_id=series.pk)
        series.refresh_from_db()
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
