from django.core.management.base import BaseCommand
from django.db.models import Count, Q

from psched.lib.db import db_now
from scheduling.models import ScheduledPost, Series
from scheduling.recurrence import series_next

Status = ScheduledPost.Status


class Command(BaseCommand):
    help = "Lists recurring series: rule, zone, state, published and pending occurrences, the next one."

    def add_arguments(self, parser):
        parser.add_argument("--author", help="only this user's series")
        parser.add_argument("--active", action="store_true", help="only series that are not stopped")

    def handle(self, *args, author, active, **options):
        found = Series.objects.select_related("author").order_by("pk").annotate(
            published=Count("occurrences", filter=Q(occurrences__status=Status.PUBLISHED)),
            pending=Count("occurrences", filter=Q(occurrences__status__in=ScheduledPost.UPCOMING)),
        )
        if author:
            found = found.filter(author__username=author)
        if active:
            found = found.filter(active=True)
        rows = list(found)
        if not rows:
            self.stdout.write("No series.")
            return
        now = db_now()  # one reading of the database clock for every row
        for series in rows:
            upcoming = series_next(series=series, now=now, limit=1)
            following = (f"next #{upcoming[0].index} {upcoming[0].local:%Y-%m-%d %H:%M:%S}" if upcoming
                         else "no next occurrence")
            state = "active" if series.active else "stopped"
            self.stdout.write(
                f"#{series.pk} {series.author.username} {state} {series.rrule} from {series.start:%Y-%m-%d %H:%M:%S} "
                f"{series.timezone}: {series.published} published, {series.pending} pending, {following}"
            )
