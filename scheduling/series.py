"""Recurring posts: an RFC 5545 RRULE expanded from a local wall-clock start in an IANA zone,
and its occurrences materialized ahead of time as ordinary scheduled posts.

Time rules, the same as the queue's slots:
- the rule is expanded on naive local times, then each occurrence is read in the zone, so
  09:00 stays 09:00 on both sides of a DST change;
- an occurrence that falls in a DST gap (02:30 on the spring change in Europe/Paris) moves
  forward by the gap (03:30 local, the same instant zoneinfo gives with fold=0);
- one that happens twice (the autumn fold) is the first one;
- occurrences that land on the same instant (02:30 moved to 03:30 next to a 03:30) are one.

Bounded work. A rule is parsed once (rule_parse) against an allow-list of parts and ranges;
python-dateutil then expands it, but dateutil walks period after period until one matches
(a rule that never matches walks to the year 9999), so every walk has a budget of days
examined (EXPANSION_DAYS) and starts near the window it is asked for: the materialization
from the series' cursor (an occurrence already reached, with its index), the calendar from
the period of the rule that holds the first day it shows."""
import logging
import re
from math import gcd
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterator

from dateutil.rrule import DAILY, HOURLY, MINUTELY, MONTHLY, SECONDLY, WEEKLY, YEARLY, weekday
from dateutil.rrule import rrule as DateutilRule
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from feed.services import post_text_check
from psched.lib.db import db_now
from psched.lib.errors import Conflict
from psched.lib.timeparse import UTC, zone_get

from .models import ScheduledPost, Series
from .services import MAX_SCHEDULE_AHEAD, scheduled_post_reschedule, scheduled_posts_insert
from .signals import series_extras_changing

logger = logging.getLogger("scheduling")
Status = ScheduledPost.Status
# Occurrences checked against PSCHED_SERIES_MIN_SECONDS.
GAP_CHECK_OCCURRENCES = 50
# A start further back would make every expansion walk a long history.
MAX_START_AGE = timedelta(days=366)
# Posts one materialization may create for one series.
MATERIALIZE_LIMIT = 1000
NOT_PUBLISHED = (Status.PENDING, Status.PUBLISHING, Status.FAILED)
# Days one expansion may examine (a day is examined once per period of the rule: once a day
# for DAILY and coarser, once an hour for HOURLY): at most about 0.2 s of CPU. Enough for 160
# years of a daily rule or nearly 7 of an hourly one.
EXPANSION_DAYS = 60_000
MAX_COUNT = 10_000
MAX_INTERVAL = 1000
MAX_RULE_LENGTH = 400
MAX_SETPOS = 10

FREQUENCIES = {
    "YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY,
    "HOURLY": HOURLY, "MINUTELY": MINUTELY, "SECONDLY": SECONDLY,
}
FREQUENCY_NAMES = {value: name for name, value in FREQUENCIES.items()}
_STEP_SECONDS = {HOURLY: 3600, MINUTELY: 60, SECONDLY: 1}
WEEKDAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
# The BY… parts of numbers: (dateutil's keyword, lowest, highest, zero allowed).
NUMBER_PARTS = {
    "BYSECOND": ("bysecond", 0, 59, True),
    "BYMINUTE": ("byminute", 0, 59, True),
    "BYHOUR": ("byhour", 0, 23, True),
    "BYMONTHDAY": ("bymonthday", -31, 31, False),
    "BYYEARDAY": ("byyearday", -366, 366, False),
    "BYWEEKNO": ("byweekno", -53, 53, False),
    "BYMONTH": ("bymonth", 1, 12, True),
    "BYSETPOS": ("bysetpos", -366, 366, False),
}
# RFC 5545's table of which BY… part goes with which FREQ (plus psched's own: BYSETPOS only
# where dateutil computes it over a whole day, month or year, which is cheap and gives the
# same answer from any point of the rule).
ALLOWED_WITH = {
    "BYMONTHDAY": {YEARLY, MONTHLY, DAILY, HOURLY, MINUTELY, SECONDLY},
    "BYYEARDAY": {YEARLY, HOURLY, MINUTELY, SECONDLY},
    "BYWEEKNO": {YEARLY},
    "BYSETPOS": {YEARLY, MONTHLY, DAILY},
}
PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", *NUMBER_PARTS}


class RuleTooCostly(Exception):
    """An expansion used up its budget of days examined (EXPANSION_DAYS)."""


@dataclass(frozen=True)
class Rule:
    """One RRULE as parsed and checked by rule_parse: what dateutil is given, every part
    explicit (see Rule.build)."""

    text: str  # upper case, without "RRULE:"
    freq: int
    interval: int = 1
    count: int | None = None
    until: datetime | None = None  # local, naive
    wkst: int = 0
    by: dict = field(default_factory=dict)  # dateutil keyword -> tuple, as written

    def times_a_day(self) -> int:
        """How many occurrences one day can hold, at most."""
        size = {name: len(self.by.get(name) or ()) or 1 for name in ("byhour", "byminute", "bysecond")}
        if self.freq in _STEP_SECONDS:
            periods = -(-86400 // (_STEP_SECONDS[self.freq] * self.interval))
            within = {HOURLY: size["byminute"] * size["bysecond"], MINUTELY: size["bysecond"]}.get(self.freq, 1)
            return periods * within
        return size["byhour"] * size["byminute"] * size["bysecond"]

    def defaults(self, start: datetime) -> dict:
        """The BY… parts dateutil would take from the start when the rule leaves them out,
        written out, so that a walk restarted at a later point is the same rule."""
        by = dict(self.by)
        day_parts = ("byweekno", "byyearday", "bymonthday", "byweekday")
        if not any(by.get(name) for name in day_parts):
            if self.freq == YEARLY:
                by.setdefault("bymonth", (start.month,))
                by["bymonthday"] = (start.day,)
            elif self.freq == MONTHLY:
                by["bymonthday"] = (start.day,)
            elif self.freq == WEEKLY:
                by["byweekday"] = (weekday(start.weekday()),)
        if self.freq < HOURLY:
            by.setdefault("byhour", (start.hour,))
        if self.freq < MINUTELY:
            by.setdefault("byminute", (start.minute,))
        if self.freq < SECONDLY:
            by.setdefault("bysecond", (start.second,))
        return {name: value for name, value in by.items() if value}

    def build(self, *, start: datetime, dtstart: datetime, count: int | None, until: datetime | None,
              budget: int = EXPANSION_DAYS) -> DateutilRule:
        """dateutil's rule from `dtstart` (a point the rule reaches from `start`, or `start`),
        with COUNT `count` and local `until`, that gives up after `budget` days examined."""
        rule = DateutilRule(self.freq, dtstart=dtstart, interval=self.interval, wkst=self.wkst, count=count,
                            until=None if count is not None else until, **self.defaults(start))
        # With BYSETPOS, dateutil goes over a period's days once more for each position.
        _budget_set(rule, budget // len(self.by.get("bysetpos") or (1,)))
        return rule


class _Budget(tuple):
    """A BY… set that counts the membership tests dateutil makes, one per day examined."""

    def __contains__(self, item):
        self.left -= 1
        if self.left < 0:
            raise RuleTooCostly()
        return tuple.__contains__(self, item)


def _budget_set(rule: DateutilRule, budget: int) -> None:
    # dateutil tests each day of a period against BYMONTH first, else BYWEEKNO, BYDAY: the
    # first of these that is set sees every day. Where the rule has none, an unrestricted one
    # (every month, every weekday) is put in its place: it filters nothing. BYMONTH is not
    # added to a YEARLY rule with numbered days (it would make "the 20th Monday" count within
    # each month), and a rule with BYWEEKNO has no numbered days (rule_parse).
    if rule._bymonth or not (rule._freq == YEARLY and rule._bynweekday):
        counted = _Budget(rule._bymonth or range(1, 13))
        counted.left = budget
        rule._bymonth = counted
    else:
        counted = _Budget(rule._byweekday or range(7))
        counted.left = budget
        rule._byweekday = counted


def _refuse(message: str):
    return ValidationError({"rrule": [message]})


def _numbers(name: str, value: str) -> tuple:
    keyword, lowest, highest, zero = NUMBER_PARTS[name]
    found = []
    for item in value.split(","):
        if not re.fullmatch(r"[+-]?\d{1,3}", item):
            raise _refuse(f"{name}={value[:40]}: give whole numbers separated by commas.")
        number = int(item)
        if not lowest <= number <= highest or (number == 0 and not zero):
            span = f"{lowest} to {highest}" + ("" if zero else ", not 0")
            raise _refuse(f"{name}={number} is out of range: use {span}.")
        found.append(number)
    return tuple(sorted(set(found)))


def _local_until(value: str) -> datetime:
    if value.endswith("Z"):
        raise _refuse("Write UNTIL as a local time without Z, e.g. UNTIL=20271231T235959.")
    try:
        if re.fullmatch(r"\d{8}", value):
            # A date: the whole of that day.
            return datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59)
        if re.fullmatch(r"\d{8}T\d{6}", value):
            return datetime.strptime(value, "%Y%m%dT%H%M%S")
    except ValueError:
        pass
    raise _refuse(f"UNTIL={value[:20]} is not a local date-time; write e.g. UNTIL=20271231T235959.")


def _weekdays(value: str, freq: int) -> tuple:
    found, numbered = [], []
    for item in value.split(","):
        match = re.fullmatch(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", item)
        if not match:
            raise _refuse(f"BYDAY={value[:40]}: use two-letter days (MO … SU), e.g. BYDAY=MO,WE or BYDAY=-1FR.")
        n = int(match.group(1)) if match.group(1) else None
        if n is not None:
            highest = 5 if freq == MONTHLY else 53
            if freq not in (MONTHLY, YEARLY):
                raise _refuse("A numbered BYDAY (e.g. -1FR) goes with FREQ=MONTHLY or FREQ=YEARLY only.")
            if n == 0 or abs(n) > highest:
                raise _refuse(f"BYDAY={item}: the number is 1 to {highest} or -1 to -{highest}.")
        found.append(weekday(WEEKDAY_CODES.index(match.group(2)), n))
        numbered.append(n is not None)
    if any(numbered) and not all(numbered):
        # dateutil would require both (a Monday that is also the last Friday): never.
        raise _refuse("Give BYDAY either as plain days (MO,WE) or as numbered days (1MO,-1FR), not both.")
    return tuple(found)


def rule_parse(rrule_text) -> Rule:
    """One RRULE (with or without "RRULE:"), checked against the allow-list of parts and
    ranges; a ValidationError naming rrule says what is wrong."""
    if not isinstance(rrule_text, str) or not rrule_text.strip():
        raise _refuse("Give an RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10.")
    text = rrule_text.strip().upper()
    if text.startswith("RRULE:"):
        text = text[6:]
    if len(text) > MAX_RULE_LENGTH or not re.fullmatch(r"[A-Z0-9=;,+\-]+", text):
        raise _refuse("Give one RRULE line such as FREQ=DAILY;COUNT=5 (the start goes in the start field).")
    values = {}
    text = text.strip(";")  # a trailing ";" is harmless
    for part in text.split(";"):
        name, sign, value = part.partition("=")
        if not sign or not value:
            raise _refuse(f"{part[:40]!r} is not NAME=VALUE; write e.g. FREQ=DAILY;COUNT=5.")
        if name == "BYEASTER":
            raise _refuse("BYEASTER is not supported; give the dates with BYMONTH and BYMONTHDAY.")
        if name not in PARTS:
            raise _refuse(f"{name[:20]} is not a part psched supports; use FREQ, INTERVAL, COUNT, UNTIL, WKST and BY….")
        if name in values:
            raise _refuse(f"{name} is given twice.")
        values[name] = value
    if values.get("FREQ") not in FREQUENCIES:
        raise _refuse("Give FREQ: YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY or SECONDLY.")
    freq = FREQUENCIES[values["FREQ"]]
    interval, count, until, wkst = 1, None, None, 0
    if "INTERVAL" in values:
        # Below DAILY, the one-day limit further down bounds it.
        highest = 86400 if freq in _STEP_SECONDS else MAX_INTERVAL
        if not values["INTERVAL"].isdigit() or not 1 <= int(values["INTERVAL"]) <= highest:
            raise _refuse(f"INTERVAL must be a whole number from 1 to {highest}.")
        interval = int(values["INTERVAL"])
    if "COUNT" in values:
        if not values["COUNT"].isdigit() or not 1 <= int(values["COUNT"]) <= MAX_COUNT:
            raise _refuse(f"COUNT must be a whole number from 1 to {MAX_COUNT}.")
        count = int(values["COUNT"])
    if "UNTIL" in values:
        if count is not None:
            raise _refuse("Give COUNT or UNTIL, not both.")
        until = _local_until(values["UNTIL"])
    if "WKST" in values:
        if values["WKST"] not in WEEKDAY_CODES:
            raise _refuse("WKST is a two-letter day, MO … SU.")
        wkst = WEEKDAY_CODES.index(values["WKST"])
    by = {}
    for name, value in values.items():
        if name in ALLOWED_WITH and freq not in ALLOWED_WITH[name]:
            allowed = ", ".join(FREQUENCY_NAMES[f] for f in sorted(ALLOWED_WITH[name]))
            raise _refuse(f"{name} goes with FREQ={allowed.replace(', ', ' or FREQ=')} only.")
        if name in NUMBER_PARTS:
            by[NUMBER_PARTS[name][0]] = _numbers(name, value)
        elif name == "BYDAY":
            by["byweekday"] = _weekdays(value, freq)
    if by.get("byweekno") and any(day.n for day in by.get("byweekday", ())):
        raise _refuse("A numbered BYDAY does not go with BYWEEKNO.")
    if by.get("bysetpos") and not any(name != "bysetpos" for name in by):
        raise _refuse("BYSETPOS picks among the times another BY… part gives: add one (e.g. BYDAY=MO,TU,WE,TH,FR).")
    if len(by.get("bysetpos") or ()) > MAX_SETPOS:
        raise _refuse(f"BYSETPOS takes at most {MAX_SETPOS} positions.")
    rule = Rule(text=text, freq=freq, interval=interval, count=count, until=until, wkst=wkst, by=by)
    step = _STEP_SECONDS.get(freq)
    minimum = settings.PSCHED_SERIES_MIN_SECONDS
    if step is not None and step * interval < minimum:
        raise _refuse(
            f"FREQ={values['FREQ']} with INTERVAL={interval} repeats more often than every {minimum} seconds, the "
            "minimum interval; use a larger INTERVAL or a coarser FREQ."
        )
    if step is not None and step * interval > 86400:
        raise _refuse(f"FREQ={values['FREQ']} with INTERVAL={interval} is longer than a day: use FREQ=DAILY.")
    if freq == DAILY and any(abs(position) > rule.times_a_day() for position in by.get("bysetpos") or ()):
        raise _refuse(f"BYSETPOS picks among the {rule.times_a_day()} times of a day here: a larger position never matches.")
    per_day = max(1, 86400 // minimum)
    if freq in (MINUTELY, SECONDLY):
        # dateutil looks for the next allowed time over up to a whole cycle of the day per step
        # (1440 // gcd(INTERVAL, 1440) minutes): keep that cycle as short as the day's count.
        steps = 1440 if freq == MINUTELY else 86400
        if steps // gcd(interval, steps) > per_day:
            raise _refuse(
                f"FREQ={values['FREQ']} with INTERVAL={interval} does not come back to the same times each day; "
                f"use an INTERVAL that divides the day ({'60, 120, 180' if freq == MINUTELY else '3600, 7200, 10800'} …)."
            )
    if rule.times_a_day() > per_day:
        raise _refuse(
            f"This rule has up to {rule.times_a_day()} occurrences a day; at most {per_day} are allowed "
            f"(one every {minimum} seconds). Give fewer BYHOUR, BYMINUTE or BYSECOND values."
        )
    return rule


@dataclass(frozen=True)
class Occurrence:
    index: int | None  # 1-based, counted along the rule from start; None when not known (calendar)
    local: datetime  # naive wall-clock time in the series' zone
    instant: datetime  # aware, UTC


@dataclass(frozen=True)
class SeriesInput:
    text: str
    start: datetime  # naive, local
    zone: str
    rrule: str


def _walk(*, rule: Rule, start: datetime, zone_name: str, dtstart: datetime, index: int | None,
          count: int | None, until: datetime) -> Iterator[Occurrence]:
    """The occurrences from `dtstart` (the start, or a point of the rule reached from it) up to
    `until` (UTC), numbered from `index`; occurrences on an instant already given are one.
    Raises RuleTooCostly past the budget."""
    zone = zone_get(zone_name)
    # Bounded by `until` too (dateutil stops at the first match past it).
    local_limit = (until + timedelta(days=2)).astimezone(zone).replace(tzinfo=None)
    limit = min(rule.until, local_limit) if rule.until else local_limit
    if dtstart > limit or (count is not None and count < 1):
        return
    last = None
    for n, local in enumerate(rule.build(start=start, dtstart=dtstart, count=count, until=limit)):
        instant = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if instant > until:
            return
        if last is not None and instant <= last:
            continue  # the DST gap moved it onto (or before) an occurrence already given
        last = instant
        yield Occurrence(index=None if index is None else index + n, local=local, instant=instant)


def occurrences(*, rrule_text: str, start: datetime, zone_name: str, until: datetime) -> Iterator[Occurrence]:
    """The rule's occurrences from its start up to `until` (UTC), numbered from 1."""
    rule = rule_parse(rrule_text)
    return _walk(rule=rule, start=start, zone_name=zone_name, dtstart=start, index=1, count=rule.count, until=until)


def _from_cursor(*, series: Series, rule: Rule, until: datetime) -> Iterator[Occurrence]:
    """The series' occurrences from its cursor (the last occurrence the job found not ahead
    of its now, with its index; at first the start, index 1) up to `until`."""
    if series.cursor_local is None:
        dtstart, index = series.start, 1
    else:
        dtstart, index = series.cursor_local, series.cursor_index
    count = None if rule.count is None else rule.count - index + 1
    return _walk(rule=rule, start=series.start, zone_name=series.timezone, dtstart=dtstart, index=index,
                 count=count, until=until)


def _period_start(rule: Rule, start: datetime, at: datetime) -> datetime:
    """The beginning of the rule's last period (year, month, week, day, hour… counted by
    INTERVAL from the start's) that begins at or before the local time `at`: a walk from there
    gives the same occurrences as one from the start (the BY… parts are explicit, and BYSETPOS
    only goes with whole days, months or years), without their numbers."""
    if at <= start:
        return start
    step = rule.interval
    if rule.freq == YEARLY:
        begin = datetime(start.year + (at.year - start.year) // step * step, 1, 1)
    elif rule.freq == MONTHLY:
        months = start.year * 12 + start.month - 1
        months += ((at.year * 12 + at.month - 1) - months) // step * step
        begin = datetime(months // 12, months % 12 + 1, 1)
    elif rule.freq in (WEEKLY, DAILY):
        unit = 7 if rule.freq == WEEKLY else 1

        def first_day(moment: datetime) -> date:
            return moment.date() - timedelta(days=(moment.weekday() - rule.wkst) % 7 if unit == 7 else 0)

        base = first_day(start)
        periods = (first_day(at) - base).days // unit
        begin = datetime.combine(base + timedelta(days=periods // step * step * unit), datetime.min.time())
    else:
        seconds = _STEP_SECONDS[rule.freq]
        base = start.replace(minute=0 if rule.freq == HOURLY else start.minute, second=0 if rule.freq != SECONDLY else start.second)
        elapsed = int((at - base).total_seconds())
        begin = base + timedelta(seconds=elapsed // (seconds * step) * seconds * step)
    return max(begin, start)


def series_input_clean(*, text, start, timezone_name, rrule_text, now: datetime | None = None,
                       start_age_check: bool = True) -> SeriesInput:
    """Validates a series; raises ValidationError naming each bad field (text, start,
    timezone, rrule). start_age_check=False for a series' own start kept by an edit."""
    now = now or db_now()
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
    rule = None
    try:
        rule = rule_parse(rrule_text)
    except ValidationError as error:
        errors.update(error.message_dict)
    if local is not None and zone is not None:
        try:
            instant = local.replace(tzinfo=zone_get(zone)).astimezone(UTC)
        except OverflowError:
            instant = None
        if instant is None or instant > now + MAX_SCHEDULE_AHEAD:
            errors["start"] = ["The start is more than five years ahead; check the year."]
        elif start_age_check and instant < now - MAX_START_AGE:
            errors["start"] = ["The start is more than a year ago; start the series from a recent date."]
    if rule is not None and local is not None and zone is not None and "start" not in errors:
        try:
            _rule_check(rule=rule, start=local, zone_name=zone, now=now)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return SeriesInput(text=text, start=local, zone=zone, rrule=rule.text)


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
    """400s naming rrule: not an allowed rule, no occurrence ahead, or more frequent than
    PSCHED_SERIES_MIN_SECONDS."""
    _rule_check(rule=rule_parse(rrule_text), start=start, zone_name=zone_name, now=now)


def _rule_check(*, rule: Rule, start: datetime, zone_name: str, now: datetime) -> None:
    """One walk from the start: the gaps between the first occurrences, and one after now."""
    minimum = settings.PSCHED_SERIES_MIN_SECONDS
    first, ahead = [], False
    try:
        for occurrence in _walk(rule=rule, start=start, zone_name=zone_name, dtstart=start, index=1,
                                count=rule.count, until=now + MAX_SCHEDULE_AHEAD):
            if len(first) < GAP_CHECK_OCCURRENCES:
                first.append(occurrence)
            ahead = ahead or occurrence.instant > now
            if ahead and len(first) >= GAP_CHECK_OCCURRENCES:
                break
    except RuleTooCostly:
        ahead = False
    for earlier, later in zip(first, first[1:]):
        gap = (later.instant - earlier.instant).total_seconds()
        if gap < minimum:
            raise _refuse(
                f"Occurrences {earlier.index} and {later.index} are {gap:g} seconds apart; a series may "
                f"repeat at most every {minimum} seconds."
            )
    if not ahead:
        raise _refuse(
            "This rule has no occurrence after now within five years (or matches too rarely to find one from "
            "the start): check the start, COUNT, UNTIL and the BY… parts."
        )


def series_next(*, series: Series, now: datetime | None = None, limit: int = 5) -> list[Occurrence]:
    """The next occurrences after now, for display; [] once stopped or failed."""
    if not series.active or series.error:
        return []
    now = now or db_now()
    found = []
    excluded = series.excluded_indexes()
    try:
        rule = rule_parse(series.rrule)
        for occurrence in _from_cursor(series=series, rule=rule, until=now + MAX_SCHEDULE_AHEAD):
            if occurrence.instant > now and occurrence.index not in excluded:
                found.append(occurrence)
                if len(found) == limit:
                    break
    except (ValidationError, RuleTooCostly):
        pass  # a rule from before the checks: the job marks it failed and says why
    return found


def series_between(*, series: Series, after: datetime, before: datetime, now: datetime | None = None) -> list[Occurrence]:
    """The occurrences in [after, before) (UTC), for the calendar, walked from near `after`:
    from the cursor for a rule with COUNT (the count decides where it ends), else from the
    rule's period that holds `after` (without their numbers). Nothing past five years ahead."""
    before = min(before, (now or db_now()) + MAX_SCHEDULE_AHEAD)
    if not series.active or series.error or after >= before:
        return []
    found = []
    try:
        rule = rule_parse(series.rrule)
        if rule.count is not None:
            walk = _from_cursor(series=series, rule=rule, until=before)
        else:
            # A day early: the wall time of `after` may be hours from an occurrence's instant.
            at = (after - timedelta(days=1)).astimezone(zone_get(series.timezone)).replace(tzinfo=None)
            walk = _walk(rule=rule, start=series.start, zone_name=series.timezone,
                         dtstart=_period_start(rule, series.start, at), index=None, count=None, until=before)
        found = [o for o in walk if after <= o.instant < before and not occurrence_excluded(series, o)]
    except (ValidationError, RuleTooCostly):
        pass
    return found


def occurrence_excluded(series: Series, occurrence: Occurrence) -> bool:
    """Skipped or detached: by index, or by local time where the walk has no numbers."""
    if occurrence.index is not None:
        return occurrence.index in series.excluded_indexes()
    return occurrence.local.isoformat() in series.excluded_locals()


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
        if extras:  # e.g. its destinations, for the occurrences it governs and those it makes
            series_extras_changing.send(sender=Series, series=series, extras=extras)
        made = 0
        if rule_changed:
            _cancel(_not_published(series))
            series.materialized_until = now
            series.cursor_local, series.cursor_index, series.error = None, 1, ""
        else:
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
