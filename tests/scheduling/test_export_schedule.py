import csv
from io import StringIO

from django.core.management import call_command

from scheduling.models import ScheduledPost
from scheduling.services import schedule_input_clean, scheduled_posts_create
from tests.dates import NEXT_YEAR


def test_it_exports_the_columns_import_reads_plus_id_and_status(alice, node, tmp_path):
    posts = scheduled_posts_create(author=alice, inputs=[
        schedule_input_clean(text="paris, \"quoted\"", publish_at=f"{NEXT_YEAR}-07-01T09:00:00", timezone_name="Europe/Paris"),
        schedule_input_clean(text="utc", publish_at=f"{NEXT_YEAR}-07-01T09:00:00Z"),
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
        schedule_input_clean(text=f"p{i}", publish_at=f"{NEXT_YEAR}-07-01T09:00:00Z") for i in range(3)
    ])
    ScheduledPost.objects.filter(text="p0").update(status="cancelled")
    path = tmp_path / "pending.csv"
    call_command("export_schedule", "--status", "pending", str(path), stdout=StringIO())
    assert [row["text"] for row in csv.DictReader(path.open(newline=""))] == ["p1", "p2"]
    call_command("import_schedule", str(path), stdout=StringIO(), stderr=StringIO())
    assert ScheduledPost.objects.filter(status="pending").count() == 4
