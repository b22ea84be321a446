import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from django.core.exceptions import ValidationError

from dispatchers.services import node_credential_add, node_register
from dispatchers.tasks import node_tick
from dispatchers.worker import liveness_start, self_ticks_start
from psched.lib.db import database_wait, retry_on_deadlock, session_limits_set
from psched.celery import app
from scheduling.tasks import JOBS_QUEUE


class Command(BaseCommand):
    help = (
        "Registers dispatcher node NAME if it is new, then runs a Celery worker on its queue dispatch.NAME "
        "and the shared queue scheduling.jobs."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--weight", type=int, default=100, help="routing weight of a new node (default 100)")
        parser.add_argument(
            "--concurrency", type=int, default=4,
            help="ticks that may run at once (default 4): a tick waits for posts due before the next one, "
            "so the next tick needs a free thread",
        )
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, name, weight, concurrency, loglevel, **options):
        try:
            validate_slug(name)
        except ValidationError:
            raise CommandError(f"{name!r} is not a valid node name: use letters, digits, - and _.") from None
        # Before any connection of the worker's: none of its transactions holds locks for long.
        session_limits_set(idle_transaction_seconds=settings.PSCHED_NODE_IDLE_TRANSACTION_SECONDS,
                           lock_wait_seconds=settings.PSCHED_NODE_LOCK_WAIT_SECONDS)
        database_wait(log=self.stdout.write)
        # Workers starting at once all touch django-celery-beat's one "changed" row: MariaDB
        # may pick one of them as a deadlock victim, which then simply registers again.
        node, created = retry_on_deadlock(node_register)(name=name, weight=weight)
        # The node's callback credential: given in the environment, or one of its own issued
        # now, next to the node's others: a second worker of the node, or one restarted while
        # the old one drains, revokes nobody's.
        credential = os.environ.get("PSCHED_NODE_CREDENTIAL")
        if not credential or not node.credential_matches(credential):
            credential = retry_on_deadlock(node_credential_add)(node=node)
        # This process's liveness, apart from the node's: a worker that dies has its claims
        # released within seconds even when the node lives on in another (or a restarted) one.
        prefix = retry_on_deadlock(liveness_start)(node=node)
        os.environ["PSCHED_NODE_NAME"] = name
        os.environ["PSCHED_NODE_CREDENTIAL"] = credential
        # Ticks of its own while beat's stop coming (beat or the broker away), by the database alone.
        self_ticks_start(node_name=name, tick=node_tick)
        self.stdout.write(f"{'registered' if created else 'starting'} dispatcher node {name} on queue {node.queue} (worker {prefix})")
        app.worker_main([
            "worker",
            # Its own ticks, and the shared jobs (series materialization): any node may run those.
            "--queues", f"{node.queue},{JOBS_QUEUE}",
            "--hostname", f"{name}@%h",
            "--pool", "threads",
            "--concurrency", str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--loglevel", loglevel,
        ])
