from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from psched.lib.timeparse import local_to_instant, zone_get


class ScheduledPost(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PUBLISHING = "publishing"
        PUBLISHED = "published"
        FAILED = "failed"
        CANCELLED = "cancelled"

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduled_posts")
    text = models.TextField()
    publish_at = models.DateTimeField(help_text="When to publish (UTC).")
    timezone = models.CharField(max_length=64, default="UTC", help_text="The IANA zone the time was written in.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    dispatcher = models.ForeignKey(
        "dispatchers.DispatcherNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="scheduled_posts"
    )
    # When the row may next be claimed: publish_at, or later while a retry backs off.
    due_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Milliseconds: 64 bits, since a post retried weeks late overflows 32 (24.8 days).
    lateness_ms = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The claim: a node's pending rows in due order.
            models.Index(fields=["dispatcher", "status", "due_at"], name="sched_claim_idx"),
            # Expired leases, across nodes.
            models.Index(fields=["status", "lease_until"], name="sched_lease_idx"),
            # "My scheduled posts".
            models.Index(fields=["author", "status", "publish_at"], name="sched_author_idx"),
            models.Index(fields=["publish_at", "id"], name="sched_publish_at_idx"),
            # The last hour's published posts and their lateness (dashboard, /metrics), read
            # from the index alone.
            models.Index(fields=["status", "published_at", "dispatcher", "lateness_ms"], name="sched_published_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.status} at {self.publish_at:%Y-%m-%d %H:%M:%S}Z"

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.PUBLISHING, self.Status.FAILED)

    @property
    def time_note(self) -> str:
        """The DST-fold note when publish_at's wall time happens twice in its zone and the first
        one is meant (what local_to_instant chose); "" otherwise."""
        try:
            local = self.publish_at.astimezone(zone_get(self.timezone))
            parsed = local_to_instant(local.replace(tzinfo=None), self.timezone)
        except ValidationError:
            return ""
        return parsed.note if parsed.instant == self.publish_at else ""
