from django.core.management.base import BaseCommand

from dispatchers.management.nodes import nodes_table
from dispatchers.selectors import node_overview


class Command(BaseCommand):
    help = "Lists the dispatcher nodes: name, state, weight, last tick, clock offset from the database, pending and publishing (claimed) posts."

    def handle(self, *args, **options):
        overview = node_overview()
        if not overview:
            self.stdout.write("No dispatcher nodes yet: dispatcher_register NAME, or start one with run_dispatcher NAME.")
            return
        self.stdout.write(nodes_table(overview))
