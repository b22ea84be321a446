from django.core.management.base import BaseCommand

from dispatchers.management.nodes import node_or_error
from dispatchers.models import DispatcherNode
from dispatchers.services import node_set_state


class Command(BaseCommand):
    help = "Makes dispatcher node NAME active again: new posts are routed to it."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        node_set_state(node=node_or_error(name), state=DispatcherNode.State.ACTIVE)
        self.stdout.write(
            f"Dispatcher node {name} is active: new posts are routed to it. If its worker is not "
            f"running, start it (run_dispatcher {name}) or the next sweep marks it down again."
        )
