from django.conf import settings
from django.db import models


class Destination(models.Model):
    """A place a user's published posts also go to (the feed is built in and has no row). The
    kind (destinations/kinds/) reads config; secrets are stored encrypted
    (psched.lib.encryption), never shown again after creation or rotation."""

    class State(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"  # by its owner: new posts skip it, queued deliveries wait
        DISABLED = "disabled"  # by psched (the receiver answered 410 Gone): nothing is sent
        # By psched: only the owner can fix it (a revoked app password); deliveries wait for them.
        NEEDS_ATTENTION = "needs_attention"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="destinations")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32)
    config = models.JSONField(default=dict, blank=True, help_text="What the kind needs (a webhook: its url).")
    secret_encrypted = models.TextField(blank=True, editable=False)
    # After a rotation the previous secret signs too, until previous_secret_until.
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    # A kind's login session (a Bluesky account's access and refresh tokens), encrypted too.
    session_encrypted = models.TextField(blank=True, editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    state_reason = models.CharField(max_length=300, blank=True)
    # In the user's default set: new scheduled posts that name no destinations go here too.
    is_default = models.BooleanField(default=False)
    # Nothing is sent before this time (the destination's rate limit is used up until then).
    not_before = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="destination_owner_name_unique")]

    def __str__(self):
        return f"{self.name} ({self.kind}, {self.state})"

    @property
    def url(self) -> str:
        return self.config.get("url", "")


class Selection(models.Model):
    """A scheduled post's chosen destination (besides the feed, which is always chosen)."""

    scheduled_post = models.ForeignKey("scheduling.ScheduledPost", on_delete=models.CASCADE, related_name="+")
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="selections")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scheduled_post", "destination"], name="selection_unique"),
        ]


class SeriesChoice(models.Model):
    """A series' chosen destinations (besides the feed): each occurrence it makes is scheduled
    with them. A series without one gives its occurrences its author's default set; a series
    that continues another ("this and the following ones") takes the other's."""

    series = models.OneToOneField("scheduling.Series", on_delete=models.CASCADE, primary_key=True, related_name="+")
    destinations = models.ManyToManyField(Destination, blank=True, related_name="+")


class Delivery(models.Model):
    """One published post on its way to one destination: an outbox row, written in the
    transaction that published the post and sent later by a dispatcher node.

    pending ──claim──> sending ──2xx──> delivered
                          ├── no answer, reset, 5xx ──> unconfirmed ──claim (reconcile, then send again)──> …
                          ├── refused, 429, 4xx ──> pending (later, by the kind's retry schedule)
                          └── 410, or the schedule is used up ──> failed ──retry──> pending
    pending, unconfirmed ──cancel──> cancelled

    `key` is fixed at creation and sent on every try (a webhook's webhook-id): the receiver
    applies each key once, so a resend after an unknown outcome is harmless."""

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        DELIVERED = "delivered"
        UNCONFIRMED = "unconfirmed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    post = models.ForeignKey("feed.Post", on_delete=models.CASCADE, related_name="deliveries")
    scheduled_post = models.ForeignKey(
        "scheduling.ScheduledPost", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="deliveries")
    key = models.CharField(max_length=64, unique=True, help_text="Sent on every try (webhook-id).")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True, help_text="The node that last claimed it.")
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The last HTTP status received.")
    remote_id = models.CharField(max_length=300, blank=True)
    remote_url = models.CharField(max_length=1000, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    first_try_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # delivered_at − the post's published_at.
    lateness_ms = models.BigIntegerField(null=True, blank=True)
    # The author was told (notice, email) that it failed for good.
    failure_notified = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["state", "next_try_at"], name="delivery_due_idx"),
            models.Index(fields=["state", "lease_until"], name="delivery_lease_idx"),
            models.Index(fields=["state", "delivered_at"], name="delivery_delivered_idx"),
        ]

    def __str__(self):
        return f"delivery #{self.pk} of post {self.post_id} to {self.destination_id}: {self.state}"
