"""Bounded recurrence (issue 20, item 1): every rule the review found unbounded is refused
or expanded within a CPU budget, measured in this process."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scheduling.models import ScheduledPost, Series
from scheduling.recurrence import RuleTooCostly, occurrences, rule_parse, series_between
from scheduling.series import series_create, series_materialize_due
from tests.dates import NEXT_YEAR, dst_gap

# A refused rule answers at once; before the checks some of these never finished.
REFUSAL_CPU = 2.0  # the unbounded walks took 7 s to forever; a loaded 2-core machine inflates CPU time too


def tomorrow_at(hour=9, zone="Europe/Paris"):
    local = (timezone.now().astimezone(ZoneInfo(zone)) + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return local.replace(tzinfo=None).isoformat()


def create(api, user, rrule, **fields):
    body = {"text": "note", "start": tomorrow_at(), "timezone": "Europe/Paris", "rrule": rrule, **fields}
    return api(user).post("/api/series/", body, format="json")


@pytest.mark.parametrize("rule, reason", [
    ("FREQ=YEARLY;INTERVAL=0;BYMONTH=2", "INTERVAL"),
    ("FREQ=MONTHLY;INTERVAL=0;BYMONTHDAY=1", "INTERVAL"),
    ("FREQ=DAILY;INTERVAL=-1", "INTERVAL"),
    ("FREQ=YEARLY;BYEASTER=400", "BYEASTER"),
    ("FREQ=YEARLY;BYEASTER=262;BYHOUR=9", "BYEASTER"),
    ("FREQ=HOURLY;BYSETPOS=2", "BYSETPOS"),
    ("FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=1", "BYSETPOS"),
    ("FREQ=DAILY;BYHOUR=9,12;BYSETPOS=3", "BYSETPOS"),  # 5.4 s with 98 such positions
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1,2,3,4,5,6,7,8,9,10,11", "BYSETPOS"),
    ("FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,30", "a day"),
    ("FREQ=SECONDLY;INTERVAL=3601;BYHOUR=3;BYMINUTE=7", "divides the day"),
    ("FREQ=MINUTELY;INTERVAL=61", "divides the day"),
    ("FREQ=DAILY;BYMONTH=13", "BYMONTH"),
    (f"FREQ=DAILY;COUNT=3;UNTIL={NEXT_YEAR + 3}0101T000000", "COUNT or UNTIL"),
    ("FREQ=MONTHLY;BYDAY=MO,-1FR", "BYDAY"),
    ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY"),
])
def test_it_refuses_a_rule_outside_the_allow_list_with_its_reason(api, alice, cpu_budget, rule, reason):
    with cpu_budget(REFUSAL_CPU):
        response = create(api, alice, rule)
    assert response.status_code == 400, response.content
    assert reason in " ".join(response.json()["rrule"])
    assert not Series.objects.exists()


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=40",
    "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",  # from a year that is not a leap year: never
])
def test_it_refuses_a_rule_that_never_matches_within_a_cpu_budget(api, alice, cpu_budget, rule):
    start = f"{NEXT_YEAR if NEXT_YEAR % 4 else NEXT_YEAR + 1}-01-10T09:00:00"
    if "INTERVAL=4" not in rule:
        start = tomorrow_at()
    with cpu_budget(REFUSAL_CPU):
        response = create(api, alice, rule, start=start)
    assert response.status_code == 400
    assert "no occurrence" in response.json()["rrule"][0]


def test_a_never_matching_walk_stops_at_its_budget(cpu_budget):
    with cpu_budget(REFUSAL_CPU), pytest.raises(RuleTooCostly):
        list(occurrences(rrule_text="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", start=datetime(2026, 1, 1, 9),
                         zone_name="UTC", until=datetime(9990, 1, 1, tzinfo=ZoneInfo("UTC"))))


def test_the_series_form_and_import_refuse_an_unbounded_rule(client, alice, cpu_budget, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    client.force_login(alice)
    with cpu_budget(REFUSAL_CPU):
        response = client.post("/scheduled/series/new/", {
            "text": "t", "start": tomorrow_at(), "timezone": "UTC", "repeat": "custom", "end": "never",
            "rrule": "FREQ=MONTHLY;INTERVAL=0;BYMONTHDAY=1",
        })
    assert response.status_code == 200 and "INTERVAL" in response.content.decode()
    path = tmp_path / "plan.csv"
    path.write_text(f"author,text,publish_at,timezone,rrule\nalice,t,{tomorrow_at()},UTC,FREQ=YEARLY;INTERVAL=0;BYMONTH=2\n")
    with cpu_budget(REFUSAL_CPU), pytest.raises(CommandError):
        call_command("import_schedule", str(path))
    assert not Series.objects.exists()


def test_a_patch_is_checked_before_the_series_is_locked(api, alice):
    pk = create(api, alice, "FREQ=DAILY;COUNT=3").json()["id"]
    with CaptureQueriesContext(connection) as queries:
        response = api(alice).patch(f"/api/series/{pk}/", {"rrule": "FREQ=DAILY;INTERVAL=0"}, format="json")
    assert response.status_code == 400 and "INTERVAL" in response.json()["rrule"][0]
    assert not [q for q in queries.captured_queries if "FOR UPDATE" in q["sql"].upper()]


def test_one_bad_series_is_marked_failed_and_the_job_goes_on(api, alice, client, cpu_budget):
    # A rule accepted before the checks (BYEASTER with BYHOUR made dateutil raise IndexError).
    bad = Series.objects.create(author=alice, text="bad", start=datetime.now().replace(microsecond=0), timezone="UTC",
                                rrule="FREQ=YEARLY;BYEASTER=262;BYHOUR=9", materialized_until=timezone.now())
    good = series_create(author=alice, text="good", start=tomorrow_at(), timezone_name="UTC", rrule_text="FREQ=DAILY")
    made = ScheduledPost.objects.filter(series=good).count()
    client.force_login(alice)
    month = timezone.now().strftime("%Y-%m-01")
    assert client.get(f"/calendar/?view=month&date={month}").status_code == 200  # before the job too
    with cpu_budget(REFUSAL_CPU):
        series_materialize_due(now=timezone.now() + timedelta(days=3))
    assert ScheduledPost.objects.filter(series=good).count() > made  # the others still get posts
    bad.refresh_from_db()
    assert "BYEASTER" in bad.error and bad.active
    assert api(alice).get(f"/api/series/{bad.pk}/").json()["error"] == bad.error
    assert "BYEASTER" in client.get("/scheduled/").content.decode()
    assert client.get(f"/calendar/?view=month&date={month}").status_code == 200
    # A new rule clears the failure.
    response = api(alice).patch(f"/api/series/{bad.pk}/", {"rrule": "FREQ=DAILY", "start": tomorrow_at()}, format="json")
    assert response.status_code == 200 and response.json()["error"] == ""


def test_the_calendar_and_the_list_expand_only_near_the_window(api, alice, client, cpu_budget, settings):
    for _ in range(5):
        series_create(author=alice, text="hourly", start=tomorrow_at(), timezone_name="UTC", rrule_text="FREQ=HOURLY")
    client.force_login(alice)
    with cpu_budget(1.5):  # five hourly series, a month of occurrences each, and the page
        response = client.get(f"/calendar/?view=month&date={timezone.now().year + 3}-06-01")
    assert response.status_code == 200 and "cal-upcoming" in response.content.decode()
    with cpu_budget(3.0):  # a walk from the start to 9998 took minutes
        assert client.get("/calendar/?view=week&date=9998-06-01").status_code == 200
        assert api(alice).get("/api/series/").status_code == 200


def test_the_calendar_shows_the_same_occurrences_as_a_walk_from_the_start():
    # The walk from the rule's period near the window agrees with one from the start.
    rule = "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA;BYHOUR=8,20"
    start = datetime(2026, 1, 7, 8)
    series = Series(start=start, timezone="America/New_York", rrule=rule, active=True)
    after = datetime(NEXT_YEAR, 3, 1, tzinfo=ZoneInfo("UTC"))
    before = after + timedelta(days=60)
    expected = [o.instant for o in occurrences(rrule_text=rule, start=start, zone_name=series.timezone, until=before)
                if o.instant >= after]
    assert [o.instant for o in series_between(series=series, after=after, before=before, now=after)] == expected


def test_the_job_walks_from_the_cursor_not_the_start(alice, cpu_budget):
    series = series_create(author=alice, text="hourly", start=tomorrow_at(), timezone_name="UTC", rrule_text="FREQ=HOURLY")
    later = timezone.now() + timedelta(days=30)
    series_materialize_due(now=later)
    series.refresh_from_db()
    assert series.cursor_local > datetime.fromisoformat(tomorrow_at()) + timedelta(days=28)
    indexes = list(ScheduledPost.objects.filter(series=series).order_by("publish_at").values_list("series_index", flat=True))
    assert indexes == sorted(set(indexes))
    # Moving the start ten years back would make a walk from the start cost 87,600 hourly
    # occurrences; the job walks from its cursor.
    Series.objects.filter(pk=series.pk).update(start=series.start - timedelta(days=3650))
    made = ScheduledPost.objects.filter(series=series).count()
    with cpu_budget(0.4):
        series_materialize_due(now=later + timedelta(days=1))
    series.refresh_from_db()
    assert series.error == "" and ScheduledPost.objects.filter(series=series).count() == made + 24


def test_occurrences_on_the_same_instant_are_one(alice):
    gap = dst_gap("Europe/Paris")  # 02:30 on next year's spring day
    found = list(occurrences(rrule_text="FREQ=DAILY;BYHOUR=2,3;BYMINUTE=30", start=gap - timedelta(days=1),
                             zone_name="Europe/Paris", until=datetime.now(ZoneInfo("UTC")) + timedelta(days=800)))
    spring = [o for o in found if o.local.date() == gap.date()]
    assert len(spring) == 1  # 02:30 moved to 03:30, next to 03:30: one post
    instants = [o.instant for o in found[:10]]
    assert instants == sorted(set(instants))


def test_it_caps_the_active_series_of_a_user(api, alice, settings):
    settings.PSCHED_MAX_ACTIVE_SERIES = 2
    assert create(api, alice, "FREQ=DAILY").status_code == 201
    pk = create(api, alice, "FREQ=DAILY").json()["id"]
    response = create(api, alice, "FREQ=DAILY")
    assert response.status_code == 400 and "stop one" in response.json()["non_field_errors"][0]
    api(alice).delete(f"/api/series/{pk}/")
    assert create(api, alice, "FREQ=DAILY").status_code == 201


def test_a_series_counts_its_occurrences_against_the_scheduling_rate(api, alice, low_rates):
    # 2 posts a minute: a series making 7 occurrences is refused whole.
    response = create(api, alice, "FREQ=DAILY")
    assert response.status_code == 429 and "Retry-After" in response
    assert not Series.objects.exists() and not ScheduledPost.objects.exists()
    assert create(api, alice, "FREQ=DAILY;COUNT=2").status_code == 201


def test_it_parses_a_rule_once_with_explicit_parts():
    rule = rule_parse("RRULE:freq=monthly;byday=-1fr;count=6")
    assert rule.text == "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6" and rule.count == 6 and rule.interval == 1
    assert rule_parse("FREQ=DAILY;COUNT=3;").text == "FREQ=DAILY;COUNT=3"
