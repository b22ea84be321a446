from django.core.management.base import BaseCommand, CommandError

from destinations.services import destinations_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Encrypts every destination's secrets again under the newest key of PSCHED_SECRETS_KEYS "
        "(the first), so that the older keys can be dropped after a key rotation."
    )

    def handle(self, *args, **options):
        report = destinations_secrets_reencrypt()
        self.stdout.write(
            f"{report.reencrypted} destinations re-encrypted under the newest key; "
            f"{report.current} already were."
        )
        if report.unreadable:
            ids = ", ".join(map(str, report.unreadable))
            raise CommandError(
                f"No key in PSCHED_SECRETS_KEYS decrypts the secrets of destinations {ids}: put back the key "
                "they were encrypted with (after the newest) and run this again."
            )
