from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from psched.lib.db import db_now
from scheduling.management.commands.schedule_post import validation_lines
from scheduling.selectors import users_by_username
from scheduling.recurrence import series_next
from scheduling.series import series_create


class Command(BaseCommand):
    help = (
        "Creates a recurring post: TEXT for USER from a local START in a zone, repeated by an RFC 5545 "
        "RRULE, with the same checks as the API. Prints the next occurrences."
    )

    def add_arguments(self, parser):
        parser.add_argument("text", help="the post (quote it)")
        parser.add_argument("--author", required=True, help="username of the author")
        parser.add_argument("--start", required=True, help="local date-time of the first occurrence, e.g. 2031-07-01T09:00")
        parser.add_argument("--timezone", required=True, help="IANA zone, e.g. Europe/Paris")
        parser.add_argument("--rrule", required=True, help='e.g. "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"')

    def handle(self, *args, text, author, start, timezone, rrule, **options):
        user = users_by_username(usernames=[author]).get(author)
        if user is None:
            raise CommandError(f"Nothing created:\n  author: no user named {author!r}.")
        try:
            series = series_create(author=user, text=text, start=start, timezone_name=timezone, rrule_text=rrule)
        except ValidationError as error:
            raise CommandError("Nothing created:\n" + validation_lines(error)) from None
        made = series.occurrences.count()
        self.stdout.write(f"Created series #{series.pk} ({series.rrule}) by {author}; {made} occurrence(s) scheduled so far.")
        for occurrence in series_next(series=series, now=db_now()):
            self.stdout.write(f"  #{occurrence.index} {occurrence.local:%a %Y-%m-%d %H:%M:%S} {series.timezone} "
                              f"({occurrence.instant:%Y-%m-%d %H:%M:%S}Z)")
