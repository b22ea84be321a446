from datetime import timedelta

from django.utils import timezone

from scheduling.services import schedule_input_clean, scheduled_posts_create


def schedule(author, count, seconds=60):
    """Schedules count posts for author, due in seconds, routed to the active nodes."""
    inputs = [
        schedule_input_clean(text=f"post {i}", publish_at=(timezone.now() + timedelta(seconds=seconds)).isoformat())
        for i in range(count)
    ]
    return scheduled_posts_create(author=author, inputs=inputs)
