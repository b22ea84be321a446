from django.core.management.base import BaseCommand

from dispatchers.management.nodes import node_or_error
from dispatchers.services import node_remove


class Command(BaseCommand):
    help = (
        "Removes dispatcher node NAME: its pending and claimed posts go to the active nodes, its "
        "tick and credential are deleted. Stop its worker afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        moved = node_remove(node=node_or_error(name))
        self.stdout.write(
            f"Removed dispatcher node {name}; {moved} posts moved to active nodes. Stop its worker now: "
            f"a late callback from it is refused, and if it is started again it registers anew."
        )
