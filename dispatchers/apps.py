from django.apps import AppConfig


class DispatchersConfig(AppConfig):
    name = "dispatchers"

    def ready(self):
        # scheduling knows nothing of nodes: it announces posts it is about to insert, and we
        # choose their nodes.
        from scheduling.models import ScheduledPost
        from scheduling.signals import scheduled_posts_creating

        from .services import scheduled_posts_assign_creating

        scheduled_posts_creating.connect(
            scheduled_posts_assign_creating, sender=ScheduledPost, dispatch_uid="dispatchers.assign_creating"
        )
