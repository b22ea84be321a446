from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from scheduling.models import ScheduledPost, Series
from scheduling.queue import queue_slots_replace


def tomorrow_local():
    return (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT09:00:00")


def test_it_creates_a_series_and_prints_the_next_occurrences(alice, node):
    out = StringIO()
    call_command("series_create", "daily hello", author="alice", start=tomorrow_local(), timezone="Europe/Paris",
                 rrule="FREQ=DAILY;COUNT=3", stdout=out)
    series = Series.objects.get()
    assert f"Created series #{series.pk} (FREQ=DAILY;COUNT=3) by alice; 3 occurrence(s)" in out.getvalue()
    assert out.getvalue().count("09:00:00 Europe/Paris") == 3


def test_it_reports_a_bad_rule_by_field(alice):
    with pytest.raises(CommandError) as error:
        call_command("series_create", "x", author="alice", start=tomorrow_local(), timezone="UTC", rrule="FREQ=MINUTELY")
    assert "rrule:" in str(error.value) and not Series.objects.exists()


def test_it_lists_series(alice, node):
    call_command("series_create", "daily hello", author="alice", start=tomorrow_local(), timezone="UTC",
                 rrule="FREQ=DAILY;COUNT=3", stdout=StringIO())
    out = StringIO()
    call_command("series_list", stdout=out)
    assert "alice active FREQ=DAILY;COUNT=3" in out.getvalue() and "0 published, 3 pending, next #1" in out.getvalue()
    out = StringIO()
    call_command("series_list", author="nobody", stdout=out)
    assert out.getvalue().strip() == "No series."


def test_it_queues_a_post_from_the_command_line(alice, node):
    queue_slots_replace(user=alice, slots=[{"weekday": 2, "time": "07:45"}])
    out = StringIO()
    call_command("schedule_post", "queued text", author="alice", queue=True, stdout=out)
    post = ScheduledPost.objects.get()
    assert post.queued and post.publish_at.weekday() == 2
    assert f"Queued post #{post.pk} by alice for Wed " in out.getvalue() and "07:45 UTC" in out.getvalue()


def test_it_says_why_a_post_cannot_be_queued(alice):
    with pytest.raises(CommandError) as error:
        call_command("schedule_post", "queued text", author="alice", queue=True)
    assert "queue: You have no posting slots yet" in str(error.value)


def test_it_stops_series_from_the_admin(client, admin_user, alice, node):
    call_command("series_create", "daily hello", author="alice", start=tomorrow_local(), timezone="UTC",
                 rrule="FREQ=DAILY;COUNT=3", stdout=StringIO())
    series = Series.objects.get()
    client.force_login(admin_user)
    assert "FREQ=DAILY;COUNT=3" in client.get("/admin/scheduling/series/").content.decode()
    assert client.get(f"/admin/scheduling/series/{series.pk}/change/").status_code == 200
    client.post("/admin/scheduling/series/", {"action": "stop", "_selected_action": [series.pk]})
    assert not Series.objects.get().active
    assert set(ScheduledPost.objects.values_list("status", flat=True)) == {"cancelled"}
    assert client.get("/admin/scheduling/queueslot/").status_code == 200
