from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.core.management import call_command
from django.db.models.signals import post_delete, post_migrate, post_save


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        from .authentication import tokens_forget
        from .throttling import user_logged_in_record

        post_delete.connect(lambda instance, **signal: tokens_forget(key=instance.key), sender=Token,
                            weak=False, dispatch_uid="accounts.token_forget")
        for change in (post_save, post_delete):
            change.connect(lambda instance, **signal: tokens_forget(user_id=instance.pk), sender=get_user_model(),
                           weak=False, dispatch_uid=f"accounts.user_tokens_forget_{change is post_save}")

        user_logged_in.connect(user_logged_in_record, dispatch_uid="accounts.user_logged_in_record")
        post_migrate.connect(cache_table_create, sender=self, dispatch_uid="accounts.cache_table_create")


def cache_table_create(using, **kwargs):
    """migrate also creates the database cache's table (the throttle counters) when CACHES uses
    one, so no deployment step can forget it."""
    call_command("createcachetable", database=using, verbosity=0)
