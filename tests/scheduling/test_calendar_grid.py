"""The calendar's grid is built from real instants: DST weeks have their 23- and 25-hour days,
and a post at the second occurrence of a folded hour lands in the second row."""
from datetime import date, datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from scheduling.calendar import month_grid, place_posts, week_grid

UTC = dt_timezone.utc


def change_day(zone_name: str, forward: bool) -> date:
    """The next day (from a year ahead of now) on which the zone's clocks go forward or back:
    found by comparing the offsets at noon of consecutive days, independently of the grid."""
    zone = ZoneInfo(zone_name)
    day = timezone.now().date() + timedelta(days=365)
    for _ in range(400):
        before = datetime(day.year, day.month, day.day, 0, tzinfo=zone).utcoffset()
        after = datetime(day.year, day.month, day.day, 12, tzinfo=zone).utcoffset()
        if before != after and (after > before) == forward:
            return day
        day += timedelta(days=1)
    raise AssertionError(f"no change in {zone_name}")


def change_week(zone_name: str, *, forward: bool):
    """The week of the next change, checked to have its one short or long day."""
    zone = ZoneInfo(zone_name)
    day = change_day(zone_name, forward=forward)
    week = week_grid(day, zone)
    assert [d.hours for d in week.days] == [24 if d.day != day else (23 if forward else 25) for d in week.days]
    return zone, day, week


def column(week, day):
    index = [d.day for d in week.days].index(day)
    return [(row, row.cells[index]) for row in week.rows if row.cells[index] is not None]


@pytest.mark.parametrize("zone_name, skipped_hour", [("Europe/Paris", 2), ("America/New_York", 2)])
def test_it_gives_the_spring_change_a_23_hour_day(zone_name, skipped_hour):
    zone, day, week = change_week(zone_name, forward=True)
    assert len(week.rows) == 24  # the other days still have every hour
    cells = column(week, day)
    assert len(cells) == 23
    assert skipped_hour not in [row.hour for row, _ in cells]
    # Each cell is one real hour, end to end, from local midnight to the next.
    for (_, cell), (_, following) in zip(cells, cells[1:]):
        assert cell.end == following.start and cell.end - cell.start == timedelta(hours=1)
    assert cells[0][1].start == datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    after_gap = dict((row.hour, cell) for row, cell in cells)[skipped_hour + 1]
    assert after_gap.local.hour == skipped_hour + 1
    assert after_gap.start == cells[skipped_hour - 1][1].start + timedelta(hours=1)


@pytest.mark.parametrize("zone_name, folded_hour", [("Europe/Paris", 2), ("America/New_York", 1)])
def test_it_gives_the_autumn_change_a_25_hour_day_with_the_folded_hour_twice(zone_name, folded_hour):
    zone, day, week = change_week(zone_name, forward=False)
    assert len(week.rows) == 25
    again = [row for row in week.rows if row.occurrence]
    summer, winter = ("CEST", "CET") if zone_name == "Europe/Paris" else ("EDT", "EST")
    assert [(row.hour, row.label) for row in again] == [(folded_hour, f"{folded_hour:02d}:00 {winter} (again)")]
    assert next(row for row in week.rows if row.hour == folded_hour and not row.occurrence).label == f"{folded_hour:02d}:00 {summer}"
    index = [d.day for d in week.days].index(day)
    assert [cell is not None for cell in again[0].cells] == [i == index for i in range(7)]
    cells = column(week, day)
    assert len(cells) == 25
    first = next(cell for row, cell in cells if row.hour == folded_hour and not row.occurrence)
    second = again[0].cells[index]
    assert second.start - first.start == timedelta(hours=1)
    assert first.local.utcoffset() - second.local.utcoffset() == timedelta(hours=1)

    # A post at the second "HH:30" is placed in the second row, one at the first in the first.
    at_first, at_second = first.start + timedelta(minutes=30), second.start + timedelta(minutes=30)
    posts = [{"id": 1, "publish_at": at_first}, {"id": 2, "publish_at": at_second}]
    drafts = place_posts(cells=sorted(week.cells(), key=lambda c: c.start), posts=posts, zone=zone)
    assert drafts == []
    assert [p["id"] for p in first.posts] == [1] and [p["id"] for p in second.posts] == [2]
    assert at_first.astimezone(zone).replace(tzinfo=None) == at_second.astimezone(zone).replace(tzinfo=None)


def test_it_builds_a_month_of_whole_weeks_from_monday():
    zone = ZoneInfo("Europe/Paris")
    day = change_day("Europe/Paris", forward=False)
    month = month_grid(day, zone)
    days = list(month.days())
    assert days[0].day.weekday() == 0 and days[-1].day.weekday() == 6
    first = day.replace(day=1)
    in_month = [first + timedelta(days=i) for i in range(31) if (first + timedelta(days=i)).month == day.month]
    assert [d.day for d in days if d.in_month] == in_month
    assert days[0].day > first - timedelta(days=7) and days[-1].day < in_month[-1] + timedelta(days=7)
    for current, following in zip(days, days[1:]):
        assert current.end == following.start
    assert next(d for d in days if d.day == day).hours == 25
