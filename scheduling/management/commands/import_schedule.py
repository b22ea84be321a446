import csv
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from scheduling.services import ImportRow, schedule_rows_clean, scheduled_posts_import

COLUMNS = ("author", "text", "publish_at", "timezone")
OPTIONAL_COLUMNS = ("rrule",)
# Below this many rows a progress bar is only noise.
PROGRESS_FROM = 1000


class Command(BaseCommand):
    help = (
        "Schedules every row of a CSV file with columns author, text, publish_at, timezone "
        "(timezone may be empty when publish_at has an offset), and optionally rrule: a row with an "
        "RRULE creates a recurring series starting at publish_at. All rows are checked first; "
        "if any is bad, each bad one is reported by line and nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8, with a header line)")

    def handle(self, *args, file, **options):
        rows = self.read_rows(file)
        if not rows:
            raise CommandError(f"{file} has no rows under its header: nothing imported.")
        inputs_by_author, errors = schedule_rows_clean(rows=rows, progress=self.progress("checking"))
        if errors:
            shown = errors[:200]
            more = f"\n  … and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
            raise CommandError(
                f"{len(errors)} of {len(rows)} rows in {file} are bad, so nothing was imported. "
                f"Fix them and run it again:\n" + "\n".join(f"  {line}" for line in shown) + more
            )
        created = scheduled_posts_import(inputs_by_author=inputs_by_author)
        self.stdout.write(f"Imported {created} scheduled posts and series from {file} by {len(inputs_by_author)} author(s).")

    def read_rows(self, file) -> list[ImportRow]:
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
                if missing:
                    raise CommandError(
                        f"{file} lacks the column(s) {', '.join(missing)}: the header line must name "
                        f"{', '.join(COLUMNS)}."
                    )
                rows, line = [], reader.line_num + 1
                for record in reader:
                    present = [column for column in OPTIONAL_COLUMNS if column in reader.fieldnames]
                    rows.append(ImportRow(line=line, **{column: record[column] or "" for column in (*COLUMNS, *present)}))
                    line = reader.line_num + 1  # a quoted text may span lines
                return rows
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except (UnicodeDecodeError, csv.Error) as error:
            raise CommandError(f"{file} is not a UTF-8 CSV file: {error}.") from None

    def progress(self, what: str):
        def wrap(rows):
            return tqdm(rows, desc=what, unit=" rows", file=sys.stderr, disable=len(rows) < PROGRESS_FROM)
        return wrap
