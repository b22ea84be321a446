from django.conf import settings
from django.db import models
from django.utils import timezone


class Post(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    text = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)
    # For dispatched posts: the scheduled post (unique, so it is published at most once).
    scheduled_post = models.OneToOneField(
        "scheduling.ScheduledPost", null=True, blank=True, on_delete=models.SET_NULL, related_name="post"
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    dispatcher = models.ForeignKey(
        "dispatchers.DispatcherNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )

    class Meta:
        # The feed is ordered by id: posts are inserted when they are published, so id order
        # is publication order, and the primary key serves every page at any depth.
        ordering = ["-id"]
        indexes = [models.Index(fields=["author", "-id"], name="post_author_idx")]

    def __str__(self):
        return f"#{self.pk} by {self.author_id}"

    @property
    def lateness_ms(self):
        if self.scheduled_for is None:
            return None
        return round((self.published_at - self.scheduled_for).total_seconds() * 1000)
