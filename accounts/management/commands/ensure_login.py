import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import user_ensure


class Command(BaseCommand):
    help = "Makes sure a staff account exists for a first login, and prints how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args, username, url, **options):
        password_file = settings.VAR_DIR / f"{username}.password"
        settings.VAR_DIR.mkdir(mode=0o700, exist_ok=True)
        if not password_file.exists():
            # Created 0600, never readable by others even for a moment.
            with os.fdopen(os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
                handle.write(secrets.token_urlsafe(12))
        password = password_file.read_text().strip()
        user, created = user_ensure(username=username, password=password, staff=True)
        self.stdout.write(f"psched is at {url}/")
        if user.check_password(password):
            self.stdout.write(f"Log in at {url}/accounts/login/ as {username} / {password} (staff), or sign up at {url}/accounts/signup/.")
        else:
            self.stdout.write(f"Log in as {username} (its password was changed), or sign up at {url}/accounts/signup/.")
