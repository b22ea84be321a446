from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.core.management import call_command
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from .throttling import user_logged_in_record

        user_logged_in.connect(user_logged_in_record, dispatch_uid="accounts.user_logged_in_record")
        post_migrate.connect(cache_table_create, sender=self, dispatch_uid="accounts.cache_table_create")


def cache_table_create(using, **kwargs):
    """migrate also creates the database cache's table (the throttle counters) when CACHES uses
    one, so no deployment step can forget it."""
    call_command("createcachetable", database=using, verbosity=0)
