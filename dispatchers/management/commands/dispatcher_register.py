from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug

from dispatchers.services import node_register


class Command(BaseCommand):
    help = "Registers dispatcher node NAME (and its tick in beat); start its worker with run_dispatcher NAME."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--weight", type=int, default=100, help="share of new posts routed to it (default 100)")

    def handle(self, *args, name, weight, **options):
        try:
            validate_slug(name)
        except ValidationError:
            raise CommandError(f"{name!r} is not a valid node name: use letters, digits, - and _.") from None
        if weight < 0:
            raise CommandError(f"--weight must be 0 or more, not {weight}.")
        node, created = node_register(name=name, weight=weight)
        if not created:
            raise CommandError(f"Dispatcher node {name} already exists (weight {node.weight}, {node.state}).")
        self.stdout.write(
            f"Registered dispatcher node {name} (weight {weight}, queue {node.queue}). "
            f"Start its worker with: manage.py run_dispatcher {name}"
        )
