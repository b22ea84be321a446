from django.apps import AppConfig


class DispatchersConfig(AppConfig):
    name = "dispatchers"

    def ready(self):
        # scheduling knows nothing of nodes: it announces new posts, and we route them.
        from scheduling.models import ScheduledPost
        from scheduling.signals import scheduled_posts_created

        from .services import scheduled_posts_route_created

        scheduled_posts_created.connect(
            scheduled_posts_route_created, sender=ScheduledPost, dispatch_uid="dispatchers.route_created"
        )
