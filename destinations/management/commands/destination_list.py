from django.core.management.base import BaseCommand
from django.db.models import Count, Q

from destinations.kinds import kind_get
from destinations.models import Delivery, Destination

State = Delivery.State


class Command(BaseCommand):
    help = "Lists destinations: id, owner, name, kind, where it sends, state, and its deliveries by state. Never a secret."

    def add_arguments(self, parser):
        parser.add_argument("--owner", help="only this user's")

    def handle(self, *args, owner=None, **options):
        destinations = Destination.objects.select_related("owner").annotate(
            **{state: Count("deliveries", filter=Q(deliveries__state=state)) for state in State.values}
        ).order_by("owner__username", "name")
        if owner:
            destinations = destinations.filter(owner__username=owner)
        if not destinations:
            self.stdout.write("No destinations.")
            return
        rows = [["id", "owner", "name", "kind", "sends to", "state", *State.values]]
        for destination in destinations:
            rows.append([
                str(destination.pk), destination.owner.username, destination.name, destination.kind,
                kind_get(destination.kind).describe(config=destination.config), destination.state,
                *[str(getattr(destination, state)) for state in State.values],
            ])
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
