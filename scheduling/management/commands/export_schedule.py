import csv
import sys
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError

from scheduling.models import ScheduledPost
from scheduling.selectors import scheduled_posts_export

COLUMNS = ("id", "author", "text", "publish_at", "timezone", "status")


class Command(BaseCommand):
    help = (
        "Writes scheduled posts to a CSV file (columns id, author, text, publish_at, timezone, "
        "status; publish_at in its own zone, with the offset, empty for a draft), which "
        "import_schedule reads back. "
        "FILE - writes to standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--status", choices=ScheduledPost.Status.values, help="only posts in this status")

    def handle(self, *args, file, status, **options):
        try:
            handle = sys.stdout if file == "-" else open(file, "w", newline="", encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write {file}: {error.strerror}.") from None
        zones = {}
        count = 0
        try:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for pk, author, text, publish_at, zone, state in scheduled_posts_export(status=status):
                zone_info = zones.get(zone) or zones.setdefault(zone, ZoneInfo(zone))
                local = publish_at.astimezone(zone_info).isoformat() if publish_at else ""  # a draft has no time
                writer.writerow((pk, author, text, local, zone, state))
                count += 1
        finally:
            if handle is not sys.stdout:
                handle.close()
        if file != "-":
            self.stdout.write(f"Exported {count} scheduled posts to {file}.")
