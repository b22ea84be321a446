import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from scheduling.models import ScheduledPost
from psched.lib.db import db_now
from scheduling.rules import schedule_input_clean
from scheduling.services import draft_create, scheduled_posts_create
from tests.dates import NEXT_YEAR


def test_it_exports_the_columns_import_reads_plus_id_and_status(alice, node, tmp_path):
    posts = scheduled_posts_create(author=alice, inputs=[
        schedule_input_clean(text="paris, \"quoted\"", publish_at=f"{NEXT_YEAR}-07-01T09:00:00", timezone_name="Europe/Paris", now=db_now()),
        schedule_input_clean(text="utc", publish_at=f"{NEXT_YEAR}-07-01T09:00:00Z", now=db_now()),
    ])
    ScheduledPost.objects.filter(pk=posts[1].pk).update(status="cancelled")
    path = tmp_path / "out.csv"
    out = StringIO()
    call_command("export_schedule", str(path), stdout=out)
    rows = list(csv.DictReader(path.open(newline="")))
    assert rows == [
        {"id": str(posts[0].pk), "author": "alice", "text": "paris, \"quoted\"",
         "publish_at": f"{NEXT_YEAR}-07-01T09:00:00+02:00", "timezone": "Europe/Paris", "status": "pending"},
        {"id": str(posts[1].pk), "author": "alice", "text": "utc",
         "publish_at": f"{NEXT_YEAR}-07-01T09:00:00+00:00", "timezone": "UTC", "status": "cancelled"},
    ]
    assert "Exported 2 scheduled posts" in out.getvalue()


def test_it_filters_by_status_and_reimports(alice, node, tmp_path):
    scheduled_posts_create(author=alice, inputs=[
        schedule_input_clean(text=f"p{i}", publish_at=f"{NEXT_YEAR}-07-01T09:00:00Z", now=db_now()) for i in range(3)
    ])
    ScheduledPost.objects.filter(text="p0").update(status="cancelled")
    path = tmp_path / "pending.csv"
    call_command("export_schedule", "--status", "pending", str(path), stdout=StringIO())
    assert [row["text"] for row in csv.DictReader(path.open(newline=""))] == ["p1", "p2"]
    ScheduledPost.objects.all().delete()  # a fresh database: the file's posts are new there
    call_command("import_schedule", str(path), stdout=StringIO(), stderr=StringIO())
    assert sorted(ScheduledPost.objects.filter(status="pending").values_list("text", flat=True)) == ["p1", "p2"]


def test_it_round_trips_without_duplicating(alice, node, tmp_path):
    scheduled_posts_create(author=alice, inputs=[
        schedule_input_clean(text=f"p{i}", publish_at=f"{NEXT_YEAR}-07-01T09:00:00Z", now=db_now()) for i in range(3)
    ])
    path = tmp_path / "all.csv"
    call_command("export_schedule", str(path), stdout=StringIO())
    out = StringIO()
    call_command("import_schedule", str(path), stdout=out, stderr=StringIO())
    assert ScheduledPost.objects.count() == 3
    assert "Imported 0 scheduled posts" in out.getvalue() and "Skipped 3 rows whose post is already here" in out.getvalue()


def test_it_refuses_a_row_whose_id_is_another_post(alice, node, tmp_path):
    (post,) = scheduled_posts_create(author=alice, inputs=[
        schedule_input_clean(text="mine", publish_at=f"{NEXT_YEAR}-07-01T09:00:00Z", now=db_now())
    ])
    path = tmp_path / "other.csv"
    path.write_text(
        f"id,author,text,publish_at,timezone\n{post.pk},alice,something else,{NEXT_YEAR}-07-02T09:00:00Z,\n"
        f",alice,no id: new,{NEXT_YEAR}-07-02T09:00:00Z,\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match=f"line 2: id: post #{post.pk} exists here with another author or text"):
        call_command("import_schedule", str(path), stdout=StringIO(), stderr=StringIO())
    assert list(ScheduledPost.objects.values_list("text", flat=True)) == ["mine"]


def test_it_exports_a_draft_with_no_time_to_standard_output(alice, capsys):
    draft = draft_create(author=alice, text="someday", timezone_name="Europe/Paris")
    call_command("export_schedule", "-")
    rows = list(csv.DictReader(StringIO(capsys.readouterr().out)))
    assert rows == [{"id": str(draft.pk), "author": "alice", "text": "someday", "publish_at": "",
                     "timezone": "Europe/Paris", "status": "draft"}]


def test_drafts_round_trip_through_export_and_import(alice, node, tmp_path):
    draft_create(author=alice, text="draft one", timezone_name="Europe/Paris")
    draft_create(author=alice, text="draft two")
    scheduled_posts_create(author=alice, inputs=[
        schedule_input_clean(text="pending", publish_at=f"{NEXT_YEAR}-07-01T09:00:00Z", now=db_now()),
    ])
    path = tmp_path / "all.csv"
    call_command("export_schedule", str(path), stdout=StringIO())
    before = sorted(ScheduledPost.objects.values_list("text", "status", "timezone", "publish_at"))
    ScheduledPost.objects.all().delete()  # a fresh database
    out = StringIO()
    call_command("import_schedule", str(path), stdout=out, stderr=StringIO())
    assert "Imported 3 scheduled posts" in out.getvalue()
    assert sorted(ScheduledPost.objects.values_list("text", "status", "timezone", "publish_at")) == before
    # Imported again: the drafts are already here, nothing doubles.
    call_command("export_schedule", str(path), stdout=StringIO())
    call_command("import_schedule", str(path), stdout=StringIO(), stderr=StringIO())
    assert ScheduledPost.objects.count() == 3


def test_it_refuses_a_draft_row_with_a_time(alice, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(f"author,text,publish_at,timezone,status\nalice,x,{NEXT_YEAR}-07-01T09:00:00Z,UTC,draft\n")
    with pytest.raises(CommandError, match="line 2: status: A draft has no publish_at"):
        call_command("import_schedule", str(path), stdout=StringIO(), stderr=StringIO())
    assert not ScheduledPost.objects.exists()
