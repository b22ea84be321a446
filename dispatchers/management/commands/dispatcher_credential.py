from django.core.management.base import BaseCommand

from dispatchers.management.nodes import node_or_error
from dispatchers.services import node_credential_issue, node_credential_revoke


class Command(BaseCommand):
    help = (
        "Rotates (--rotate) or revokes (--revoke) the callback credential of dispatcher node NAME. "
        "Every old credential of the node stops working at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--rotate", action="store_true", help="issue a new credential and print it once")
        action.add_argument("--revoke", action="store_true", help="remove every credential of the node: it can publish nothing")

    def handle(self, *args, name, rotate, revoke, **options):
        node = node_or_error(name)
        if revoke:
            node_credential_revoke(node=node)
            self.stdout.write(
                f"Revoked the credential of dispatcher node {name}: its callbacks are refused until its "
                f"worker restarts (run_dispatcher adds a new credential at start)."
            )
            return
        secret = node_credential_issue(node=node)
        self.stdout.write("\n".join([
            f"New credential for dispatcher node {name} (shown once, stored only hashed):",
            "",
            f"    PSCHED_NODE_CREDENTIAL={secret}",
            "",
            "Every old credential of the node is refused from now on. A running worker of the node keeps",
            "its old one in memory: its callbacks are refused, and its posts are retried with backoff (and",
            "marked failed after PSCHED_MAX_ATTEMPTS) until it restarts. Restart every worker of the node",
            "with PSCHED_NODE_CREDENTIAL set to the value above. A worker started without it (or with a",
            "credential that no longer matches) adds a credential of its own at start, next to this one.",
        ]))
