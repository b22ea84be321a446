from django.apps import AppConfig


class DestinationsConfig(AppConfig):
    name = "destinations"

    def ready(self):
        # scheduling knows nothing of destinations: it announces new posts, their publishing
        # and their output, and we answer with the chosen destinations, the outbox rows and
        # the deliveries. Nor does feed: its pages ask what to show under a post's receipt.
        from feed.models import Post
        from feed.signals import posts_rendering
        from scheduling.models import ScheduledPost, Series
        from scheduling.signals import (
            drafts_created,
            scheduled_post_extras_changing,
            scheduled_post_text_changing,
            scheduled_posts_created,
            scheduled_posts_creating,
            scheduled_posts_published,
            scheduled_posts_serializing,
            series_extras_changing,
            series_serializing,
        )

        from .selectors import scheduled_posts_extend
        from .services import (
            deliveries_create,
            drafts_destinations_keep,
            scheduled_post_destinations_change,
            scheduled_post_text_check,
            scheduled_posts_destinations_choose,
            scheduled_posts_destinations_save,
            series_destinations_change,
            series_extend,
        )
        from .views import feed_posts_deliveries

        scheduled_posts_creating.connect(
            scheduled_posts_destinations_choose, sender=ScheduledPost, dispatch_uid="destinations.choose"
        )
        scheduled_posts_created.connect(
            scheduled_posts_destinations_save, sender=ScheduledPost, dispatch_uid="destinations.save"
        )
        drafts_created.connect(drafts_destinations_keep, sender=ScheduledPost, dispatch_uid="destinations.drafts")
        scheduled_post_extras_changing.connect(
            scheduled_post_destinations_change, sender=ScheduledPost, dispatch_uid="destinations.change"
        )
        scheduled_post_text_changing.connect(
            scheduled_post_text_check, sender=ScheduledPost, dispatch_uid="destinations.text"
        )
        scheduled_posts_published.connect(deliveries_create, sender=ScheduledPost, dispatch_uid="destinations.outbox")
        scheduled_posts_serializing.connect(scheduled_posts_extend, sender=ScheduledPost, dispatch_uid="destinations.extend")
        posts_rendering.connect(feed_posts_deliveries, sender=Post, dispatch_uid="destinations.feed")
        series_extras_changing.connect(series_destinations_change, sender=Series, dispatch_uid="destinations.series")
        series_serializing.connect(series_extend, sender=Series, dispatch_uid="destinations.series_extend")
