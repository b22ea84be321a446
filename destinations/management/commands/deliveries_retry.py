from datetime import timedelta

from django.core.management.base import BaseCommand

from destinations.services import deliveries_retry_failed
from psched.lib.db import db_now


class Command(BaseCommand):
    help = (
        "Sends failed deliveries again (with their own keys: a receiver that has one applies it once), "
        "all of them or one destination's, or those that failed in the last N hours."
    )

    def add_arguments(self, parser):
        parser.add_argument("--destination", type=int, help="only this destination's (its id)")
        parser.add_argument("--hours", type=float, help="only those that failed in the last HOURS")

    def handle(self, *args, destination=None, hours=None, **options):
        since = db_now() - timedelta(hours=hours) if hours else None
        count = deliveries_retry_failed(destination_id=destination, since=since)
        self.stdout.write(f"{count} failed deliveries are pending again.")
