from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import QueueSlot, Series
        from .selectors import clash_facts_changed

        # The clash check's per-process copy of each author's series and slots (selectors.py).
        for model in (Series, QueueSlot):
            for signal in (post_save, post_delete):
                signal.connect(clash_facts_changed, sender=model, dispatch_uid=f"scheduling.clash_facts.{model.__name__}")
