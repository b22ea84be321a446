"""The occurrence arithmetic of skip, restore and "only this one" across DST gaps and folds: an
index skipped or detached stays out of the series after the rule changes."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from scheduling.models import ScheduledPost, Series
from scheduling.occurrences import occurrence_find, occurrence_restore, occurrence_skip, occurrence_update
from scheduling.recurrence import rule_parse
from scheduling.series import series_create, series_materialize_due, series_update
from tests.dates import dst_fold, dst_gap

PARIS = ZoneInfo("Europe/Paris")


def make(author, start, rrule):
    return series_create(author=author, text="daily", start=start.isoformat(), timezone_name="Europe/Paris",
                         rrule_text=rrule)


def find(series, index):
    series.refresh_from_db()
    return occurrence_find(series=series, rule=rule_parse(series.rrule), index=index)


def indexes_made(series):
    return sorted(ScheduledPost.objects.filter(series=series, series_detached=False)
                  .exclude(status="cancelled").values_list("series_index", flat=True))


def materialize_all(series):
    # The job, run as if it were a few weeks later: every occurrence is due by then.
    series.refresh_from_db()
    last = find(series, rule_parse(series.rrule).count).instant
    series_materialize_due(now=last + timedelta(hours=1))


def test_it_finds_a_gap_occurrence_moved_forward_by_the_gap(alice):
    gap = dst_gap()
    series = make(alice, gap - timedelta(days=3), "FREQ=DAILY;COUNT=10")
    occurrence = find(series, 4)
    assert occurrence.local == gap
    assert occurrence.instant.astimezone(PARIS).hour == gap.hour + 1  # 02:30 does not exist: 03:30
    assert find(series, 5).instant.astimezone(PARIS).time() == gap.time()


def test_it_refuses_an_index_collapsed_by_the_gap(alice):
    gap = dst_gap()
    start = gap.replace(minute=0) - timedelta(hours=1)  # 01:00, 02:00 (moved to 03:00), 03:00
    series = make(alice, start, "FREQ=HOURLY;COUNT=5")
    assert find(series, 2).instant == find(series, 4).instant - timedelta(hours=1)
    with pytest.raises(ValidationError) as error:
        find(series, 3)  # 03:00 is the instant 02:00 already took: never made
    assert "index" in error.value.message_dict


def test_it_refuses_indexes_outside_the_rule(alice):
    series = make(alice, dst_gap() - timedelta(days=3), "FREQ=DAILY;COUNT=10")
    for index in (0, 11, 10_000):
        with pytest.raises(ValidationError):
            find(series, index)


def test_a_skipped_gap_index_survives_a_rule_change(alice):
    gap = dst_gap()
    series = make(alice, gap - timedelta(days=3), "FREQ=DAILY;COUNT=10")
    occurrence_skip(series_id=series.pk, index=4, author=alice)
    series_update(series_id=series.pk, author=alice, rrule_text="FREQ=DAILY;COUNT=12")
    materialize_all(series)
    assert indexes_made(series) == [1, 2, 3, *range(5, 13)]


def test_a_detached_index_survives_a_rule_change_and_keeps_its_post(alice):
    gap = dst_gap()
    series = make(alice, gap - timedelta(days=3), "FREQ=DAILY;COUNT=10")
    post = occurrence_update(series_id=series.pk, index=4, author=alice, text="moved in the gap")
    assert post.series_detached and post.series_index == 4
    assert post.publish_at == find(series, 4).instant
    series_update(series_id=series.pk, author=alice, text="new text", rrule_text="FREQ=DAILY;COUNT=6")
    materialize_all(series)
    assert indexes_made(series) == [1, 2, 3, 5, 6]
    post.refresh_from_db()
    assert post.status == "pending" and post.text == "moved in the gap"


def test_it_skips_and_restores_the_first_of_a_fold(alice):
    fold, first_utc = dst_fold()
    series = make(alice, fold - timedelta(days=2), "FREQ=DAILY;COUNT=5")
    assert find(series, 3).instant.replace(tzinfo=None) == first_utc
    occurrence_skip(series_id=series.pk, index=3, author=alice)
    with pytest.raises(ValidationError):
        occurrence_skip(series_id=series.pk, index=3, author=alice)  # already skipped
    series_update(series_id=series.pk, author=alice, rrule_text="FREQ=DAILY;COUNT=4")
    occurrence_restore(series_id=series.pk, index=3, author=alice)
    materialize_all(series)
    assert indexes_made(series) == [1, 2, 3, 4]
    restored = ScheduledPost.objects.get(series=series, series_index=3)
    assert restored.publish_at.replace(tzinfo=None) == first_utc
    assert Series.objects.get(pk=series.pk).skipped == []


def test_the_job_makes_no_post_for_a_skipped_or_detached_index(alice):
    gap = dst_gap()
    series = make(alice, gap - timedelta(days=3), "FREQ=DAILY;COUNT=8")
    occurrence_skip(series_id=series.pk, index=2, author=alice)
    occurrence_update(series_id=series.pk, index=5, author=alice, text="on its own")
    materialize_all(series)
    assert indexes_made(series) == [1, 3, 4, 6, 7, 8]
    assert ScheduledPost.objects.filter(series=series, series_index=5).count() == 1


def test_a_split_without_count_ends_the_old_rule_with_until_and_carries_the_skips(alice):
    from scheduling.occurrences import occurrences_update_following

    gap = dst_gap()
    series = make(alice, gap - timedelta(days=3), "FREQ=DAILY")
    occurrence_skip(series_id=series.pk, index=6, author=alice)
    fourth = find(series, 4)
    continuing = occurrences_update_following(series_id=series.pk, index=4, author=alice, text="from the gap on")
    series.refresh_from_db()
    assert series.rrule == f"FREQ=DAILY;UNTIL={fourth.local - timedelta(seconds=1):%Y%m%dT%H%M%S}"
    assert continuing.continues_id == series.pk and continuing.start == fourth.local and continuing.rrule == "FREQ=DAILY"
    assert [entry["index"] for entry in continuing.skipped] == [3]
    series_materialize_due(now=fourth.instant + timedelta(days=10))
    assert indexes_made(series) == [1, 2, 3]
    made = ScheduledPost.objects.filter(series=continuing).order_by("series_index")
    assert [post.series_index for post in made][:4] == [1, 2, 4, 5]
    assert made[0].publish_at == fourth.instant and made[0].text == "from the gap on"
