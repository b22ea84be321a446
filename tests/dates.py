"""Dates for tests, relative to now. A fixed date a few years ahead passes the "at most five
years ahead" rule only until the calendar catches up with it."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

NEXT_YEAR = datetime.now(timezone.utc).year + 1
# Next year's 1 July and 1 January, 09:00 and 10:00 wall time, as ISO text without offset.
JULY_FIRST = f"{NEXT_YEAR}-07-01T09:00:00"
JANUARY_FIRST = f"{NEXT_YEAR}-01-01T10:00:00"


def _transitions(zone_name: str, year: int = NEXT_YEAR):
    """(instant, offset before, offset after) of each change of the zone's UTC offset in year."""
    zone = ZoneInfo(zone_name)
    instant = datetime(year, 1, 1, tzinfo=timezone.utc)
    before = instant.astimezone(zone).utcoffset()
    while instant.year == year:
        instant += timedelta(minutes=30)
        after = instant.astimezone(zone).utcoffset()
        if after != before:
            yield instant, before, after
            before = after


def dst_gap(zone_name: str = "Europe/Paris") -> datetime:
    """A naive wall time next year that the zone skips (the middle of its spring gap)."""
    instant, before, after = next(t for t in _transitions(zone_name) if t[2] > t[1])
    return (instant + before + (after - before) / 2).replace(tzinfo=None)


def dst_fold(zone_name: str = "Europe/Paris") -> tuple[datetime, datetime]:
    """A naive wall time next year that happens twice in the zone, and the UTC instant (naive) of
    its first occurrence."""
    instant, before, after = next(t for t in _transitions(zone_name) if t[2] < t[1])
    local = (instant + after + (before - after) / 2).replace(tzinfo=None)
    return local, local - before
