from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.models import ScheduledPost
from tests.dates import NEXT_YEAR

HEADER = "author,text,publish_at,timezone\n"


def write(tmp_path, text: str):
    path = tmp_path / "schedule.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_it_imports_every_row_of_a_good_file(alice, bob, node, tmp_path):
    path = write(tmp_path, HEADER + (
        f"alice,first,{NEXT_YEAR}-07-01T09:00:00Z,\n"
        f"bob,\"second, with a comma\",{NEXT_YEAR}-07-01T09:00:00,Europe/Paris\n"
        f"alice,\"third\non two lines\",{NEXT_YEAR}-07-02T09:00:00+02:00,Europe/Paris\n"
    ))
    out = StringIO()
    call_command("import_schedule", path, stdout=out, stderr=StringIO())
    posts = {post.text: post for post in ScheduledPost.objects.select_related("author")}
    assert set(posts) == {"first", "second, with a comma", "third\non two lines"}
    assert posts["second, with a comma"].author == bob
    assert posts["second, with a comma"].publish_at.isoformat() == f"{NEXT_YEAR}-07-01T07:00:00+00:00"
    assert all(post.dispatcher == node for post in posts.values())
    assert "Imported 3 scheduled posts" in out.getvalue()


def test_it_reports_each_bad_row_by_line_and_imports_nothing(alice, node, tmp_path):
    path = write(tmp_path, HEADER + (
        f"alice,fine,{NEXT_YEAR}-07-01T09:00:00Z,\n"           # line 2
        f"zed,unknown author,{NEXT_YEAR}-07-01T09:00:00Z,\n"   # line 3
        f"alice,,{NEXT_YEAR}-07-01T09:00:00Z,\n"               # line 4
        f"alice,\"spans\ntwo lines\",{NEXT_YEAR}-07-01T09:00:00,\n"  # lines 5-6: no offset, no zone
        f"alice,bad zone,{NEXT_YEAR}-07-01T09:00:00,Mars/Olympus\n"  # line 7
        "alice,past,2001-07-01T09:00:00Z,\n"           # line 8
        f"alice,fine too,{NEXT_YEAR}-07-01T09:00:00Z,UTC\n"    # line 9
        "alice," + "x" * 501 + f",{NEXT_YEAR}-07-01T09:00:00Z,\n"  # line 10
    ))
    with pytest.raises(CommandError) as error:
        call_command("import_schedule", path, stdout=StringIO(), stderr=StringIO())
    lines = str(error.value).splitlines()
    assert "6 of 8 rows" in lines[0] and "nothing was imported" in lines[0]
    reported = [line.strip() for line in lines[1:]]
    assert [line.split(":")[0] for line in reported] == ["line 3", "line 4", "line 5", "line 7", "line 8", "line 10"]
    assert "author: no user named 'zed'" in reported[0]
    assert reported[1].startswith("line 4: text:")
    assert "publish_at: This time has no offset" in reported[2]
    assert "timezone: Unknown time zone 'Mars/Olympus'" in reported[3]
    assert "in the past" in reported[4]
    assert reported[5].startswith("line 10: text:")
    assert not ScheduledPost.objects.exists()


def test_it_names_missing_columns(alice, tmp_path):
    path = write(tmp_path, f"author,text,when\nalice,hi,{NEXT_YEAR}-07-01T09:00:00Z\n")
    with pytest.raises(CommandError, match="lacks the column.s. publish_at, timezone"):
        call_command("import_schedule", path, stdout=StringIO(), stderr=StringIO())


def test_it_shows_progress_on_large_files(alice, node, tmp_path, capsys):
    path = write(tmp_path, HEADER + "".join(f"alice,post {i},{NEXT_YEAR}-07-01T09:00:00Z,\n" for i in range(1200)))
    call_command("import_schedule", path, stdout=StringIO())
    assert "1200/1200" in capsys.readouterr().err
    assert ScheduledPost.objects.count() == 1200


def test_it_writes_a_large_file_in_chunks_all_or_nothing(alice, node, tmp_path):
    rows = "".join(f"alice,post {i},{NEXT_YEAR}-07-01T09:00:00Z,\n" for i in range(2500))
    path = write(tmp_path, HEADER + rows)
    with CaptureQueriesContext(connection) as queries:
        call_command("import_schedule", path, stdout=StringIO(), stderr=StringIO())
    inserts = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT INTO `scheduling_scheduledpost`")
               or query["sql"].startswith('INSERT INTO "scheduling_scheduledpost"')]
    # No single INSERT of the whole file (at ~50,000 rows it outgrew max_allowed_packet): chunks
    # of at most 1000 rows (SQLite splits them further, by its limit on parameters).
    assert len(inserts) >= 3 and max(sql.count("), (") + 1 for sql in inserts) <= 1000
    assert ScheduledPost.objects.count() == 2500
    # A bad row in the last chunk: the chunks written before it are rolled back too.
    path = write(tmp_path, HEADER + rows + f"alice,,{NEXT_YEAR}-07-01T09:00:00Z,\n")
    with pytest.raises(CommandError, match="1 of 2501 rows"):
        call_command("import_schedule", path, stdout=StringIO(), stderr=StringIO())
    assert ScheduledPost.objects.count() == 2500


def test_it_imports_a_row_with_an_rrule_as_a_series(alice, node, tmp_path):
    from django.utils import timezone as django_timezone
    from datetime import timedelta as delta

    from scheduling.models import Series

    start = (django_timezone.now() + delta(days=2)).strftime("%Y-%m-%dT09:00:00")
    path = write(tmp_path, "author,text,publish_at,timezone,rrule\n"
                 f"alice,one-off,{NEXT_YEAR}-07-01T09:00:00Z,,\n"
                 f"alice,every day,{start},Europe/Paris,FREQ=DAILY;COUNT=4\n")
    out = StringIO()
    call_command("import_schedule", path, stdout=out, stderr=StringIO())
    series = Series.objects.get()
    assert (series.text, series.timezone, series.rrule) == ("every day", "Europe/Paris", "FREQ=DAILY;COUNT=4")
    assert series.start.isoformat() == start
    assert ScheduledPost.objects.filter(series=series).count() == 4
    assert ScheduledPost.objects.filter(series=None).count() == 1


def test_it_reports_a_bad_rrule_row_and_imports_nothing(alice, tmp_path):
    path = write(tmp_path, "author,text,publish_at,timezone,rrule\n"
                 f"alice,one-off,{NEXT_YEAR}-07-01T09:00:00Z,,\n"
                 f"alice,too often,{NEXT_YEAR}-07-01T09:00:00,UTC,FREQ=MINUTELY\n")
    with pytest.raises(CommandError) as error:
        call_command("import_schedule", path, stdout=StringIO(), stderr=StringIO())
    assert "line 3: rrule:" in str(error.value)
    assert not ScheduledPost.objects.exists()
