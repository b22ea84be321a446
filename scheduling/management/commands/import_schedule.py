import csv
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from scheduling.importing import ImportRefused, ImportRow, scheduled_posts_import

COLUMNS = ("author", "text", "publish_at", "timezone")
OPTIONAL_COLUMNS = ("rrule", "status")
# Below this many rows a progress bar is only noise.
PROGRESS_FROM = 1000


class Command(BaseCommand):
    help = (
        "Schedules every row of a CSV file with columns author, text, publish_at, timezone "
        "(timezone may be empty when publish_at has an offset), an optional id column: a file "
        "from export_schedule imported again skips the rows whose post is already here, and an "
        "optional rrule column: a row with an RRULE creates a recurring series starting at "
        "publish_at, and an optional status column: a row whose status is draft (publish_at "
        "empty) is imported as a draft. All or nothing: if any row is bad, each bad one is reported by line and "
        "nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8, with a header line)")

    def handle(self, *args, file, **options):
        # The file is read twice as a stream (counted, then imported), never held in memory.
        total = sum(1 for _ in self.read_rows(file))
        if not total:
            raise CommandError(f"{file} has no rows under its header: nothing imported.")
        rows = tqdm(self.read_rows(file), total=total, desc="importing", unit=" rows", file=sys.stderr,
                    disable=total < PROGRESS_FROM)
        try:
            report = scheduled_posts_import(rows=rows)
        except ImportRefused as refused:
            errors = refused.report.errors
            shown = errors[:200]
            more = f"\n  … and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
            raise CommandError(
                f"{len(errors)} of {total} rows in {file} are bad, so nothing was imported. "
                f"Fix them and run it again:\n" + "\n".join(f"  {line}" for line in shown) + more
            ) from None
        skipped = f" Skipped {report.skipped} rows whose post is already here (same id, author and text)." if report.skipped else ""
        self.stdout.write(
            f"Imported {report.created} scheduled posts and series from {file} by {len(report.authors)} author(s).{skipped}"
        )

    def read_rows(self, file):
        """Yields an ImportRow per record, with the line it starts on."""
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
                if missing:
                    raise CommandError(
                        f"{file} lacks the column(s) {', '.join(missing)}: the header line must name "
                        f"{', '.join(COLUMNS)}."
                    )
                has_id = "id" in reader.fieldnames
                present = [column for column in OPTIONAL_COLUMNS if column in reader.fieldnames]
                line = reader.line_num + 1
                for record in reader:
                    values = {column: record[column] or "" for column in (*COLUMNS, *present)}
                    yield ImportRow(line=line, id=(record["id"] or "") if has_id else "", **values)
                    line = reader.line_num + 1  # a quoted text may span lines
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except (UnicodeDecodeError, csv.Error) as error:
            raise CommandError(f"{file} is not a UTF-8 CSV file: {error}.") from None
