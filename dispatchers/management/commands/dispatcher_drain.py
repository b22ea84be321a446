from django.core.management.base import BaseCommand

from dispatchers.management.nodes import node_or_error
from dispatchers.models import DispatcherNode
from dispatchers.services import node_set_state


class Command(BaseCommand):
    help = (
        "Drains dispatcher node NAME: no new posts are routed to it and its pending posts go to the "
        "active nodes now; what it already claimed it still publishes. Undo with dispatcher_activate."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        moved, stayed = node_set_state(node=node_or_error(name), state=DispatcherNode.State.DRAINING)
        self.stdout.write(f"Dispatcher node {name} is draining; {moved} pending posts moved to active nodes.")
        if stayed:
            self.stdout.write(
                f"{stayed} pending posts stay with {name}: no other node is active. They move when one is "
                f"(dispatcher_activate, or run_dispatcher a new node); until then nothing publishes them."
            )
        else:
            self.stdout.write(f"Once dispatcher_list shows {name} with 0 publishing, its worker can be stopped.")
