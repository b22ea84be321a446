from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scheduling.recurrence import RuleTooCostly, occurrences, rule_check
from tests.dates import NEXT_YEAR

UTC = dt_timezone.utc
# The rules below run on past dates (fixed DST changes); their expansion never expires.
FAR = datetime.now(UTC) + timedelta(days=3650)


def local_times(rule, start, zone):
    return [(o.index, o.local, o.instant) for o in occurrences(rrule_text=rule, start=start, zone_name=zone, until=FAR)]


@pytest.mark.parametrize("zone, spring, autumn", [
    ("Europe/Paris", datetime(2025, 3, 30), datetime(2025, 10, 26)),
    ("America/New_York", datetime(2025, 3, 9), datetime(2025, 11, 2)),
])
def test_it_keeps_nine_oclock_local_across_both_changes(zone, spring, autumn):
    for change in (spring, autumn):
        start = (change - timedelta(days=2)).replace(hour=9)
        found = local_times("FREQ=DAILY;COUNT=5", start, zone)
        assert len(found) == 5
        for _, local, instant in found:
            assert instant.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "09:00"
            assert local.hour == 9
        offsets = {instant.astimezone(ZoneInfo(zone)).utcoffset() for _, _, instant in found}
        assert len(offsets) == 2  # the change really is inside the range


def test_it_moves_an_occurrence_in_the_gap_forward():
    found = local_times("FREQ=DAILY;COUNT=3", datetime(2025, 3, 29, 2, 30), "Europe/Paris")
    paris = [instant.astimezone(ZoneInfo("Europe/Paris")) for _, _, instant in found]
    # 02:30 on the 30th does not exist: it is published at 03:30 CEST (01:30Z), not skipped.
    assert [p.strftime("%d %H:%M") for p in paris] == ["29 02:30", "30 03:30", "31 02:30"]
    assert [index for index, _, _ in found] == [1, 2, 3]


def test_it_moves_a_new_york_gap_occurrence_forward():
    found = local_times("FREQ=DAILY;COUNT=2", datetime(2025, 3, 8, 2, 15), "America/New_York")
    assert found[1][2] == datetime(2025, 3, 9, 7, 15, tzinfo=UTC)  # 03:15 EDT


def test_it_takes_the_first_of_a_fold():
    found = local_times("FREQ=DAILY;COUNT=2", datetime(2025, 10, 25, 2, 30), "Europe/Paris")
    assert found[1][2] == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST, before the clocks go back
    found = local_times("FREQ=DAILY;COUNT=2", datetime(2025, 11, 1, 1, 30), "America/New_York")
    assert found[1][2] == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # 01:30 EDT


def test_it_stops_a_rule_that_never_matches():
    with pytest.raises(RuleTooCostly):  # at its budget of days examined, not in the year 9999
        local_times("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", datetime(2025, 1, 1, 9), "UTC")


def test_it_numbers_occurrences_along_the_rule_with_until_in_local_time():
    found = local_times("FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250120T235959", datetime(2025, 1, 6, 9), "Europe/Paris")
    assert [(i, l.strftime("%a %d")) for i, l, _ in found] == [
        (1, "Mon 06"), (2, "Wed 08"), (3, "Mon 13"), (4, "Wed 15"), (5, "Mon 20"),
    ]


def check(rule, start=None, zone="Europe/Paris"):
    start = start or (timezone.now() + timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    rule_check(rrule_text=rule, start=start, zone_name=zone, now=timezone.now())


@pytest.mark.parametrize("rule", [
    "FREQ=SOMETIMES", "FREQ=DAILY;COUNT=x", "BYDAY=MO", "FREQ=DAILY\nRRULE:FREQ=WEEKLY", "DTSTART:{year}0101T000000",
    "FREQ=DAILY;UNTIL={year}0101T000000Z",
])
def test_it_refuses_an_invalid_rule_naming_rrule(rule):
    with pytest.raises(ValidationError) as error:
        check(rule.replace("{year}", str(NEXT_YEAR)))  # the names stay fixed (xdist collects them on every worker)
    assert "rrule" in error.value.message_dict


def test_it_refuses_a_rule_with_no_occurrence_ahead():
    with pytest.raises(ValidationError) as error:
        check("FREQ=DAILY;COUNT=2", start=(timezone.now() - timedelta(days=30)).replace(tzinfo=None))
    assert "no occurrence" in error.value.message_dict["rrule"][0]


@pytest.mark.parametrize("rule", ["FREQ=MINUTELY;INTERVAL=30", "FREQ=DAILY;BYHOUR=9,10;BYMINUTE=0,30"])
def test_it_refuses_a_rule_more_frequent_than_the_minimum(rule):
    with pytest.raises(ValidationError) as error:
        check(rule)
    assert "rrule" in error.value.message_dict


def test_it_uses_the_minimum_interval_setting(settings):  # and the occurrences a day it allows
    settings.PSCHED_SERIES_MIN_SECONDS = 2
    check("FREQ=SECONDLY;INTERVAL=2;COUNT=5")
    with pytest.raises(ValidationError):
        check("FREQ=SECONDLY;COUNT=5")


def test_it_allows_a_rule_without_an_end():
    check("FREQ=HOURLY")
    check("RRULE:FREQ=MONTHLY;BYDAY=-1FR")
