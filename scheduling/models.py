import re
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from psched.lib.timeparse import local_to_instant, zone_get


class ScheduledPostQuerySet(models.QuerySet):
    def release_claims(self, *, status, **changes) -> int:
        """Moves the rows to status and drops any claim on them (token and lease), in one
        UPDATE; returns how many rows changed. The holder's late callback is then refused by
        the claim check."""
        return self.update(status=status, claim_token="", lease_until=None, **changes)


class ScheduledPost(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PUBLISHING = "publishing"
        PUBLISHED = "published"
        FAILED = "failed"
        CANCELLED = "cancelled"
        DRAFT = "draft"  # no time yet; never claimed

    # Still to be published: waiting for its time, or claimed by a node. Holds a queue slot.
    UPCOMING = (Status.PENDING, Status.PUBLISHING)

    objects = ScheduledPostQuerySet.as_manager()

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduled_posts")
    text = models.TextField()
    publish_at = models.DateTimeField(null=True, blank=True, help_text="When to publish (UTC); empty for a draft.")
    timezone = models.CharField(max_length=64, default="UTC", help_text="The IANA zone the time was written in.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    dispatcher = models.ForeignKey(
        "dispatchers.DispatcherNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="scheduled_posts"
    )
    # When the row may next be claimed: publish_at, or later while a retry backs off.
    due_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Milliseconds: 64 bits, since a post retried weeks late overflows 32 (24.8 days).
    lateness_ms = models.BigIntegerField(null=True, blank=True)
    # Placed in one of the author's queue slots; re-placed when the slots change, until claimed.
    queued = models.BooleanField(default=False)
    # An occurrence of a recurring series, and which one (1-based, counted along the rule).
    series = models.ForeignKey(
        "scheduling.Series", null=True, blank=True, on_delete=models.SET_NULL, related_name="occurrences"
    )
    series_index = models.PositiveIntegerField(null=True, blank=True)
    # An occurrence edited on its own: the series leaves it alone (its text, rule and stop no
    # longer touch it) and never makes its index again.
    series_detached = models.BooleanField(default=False)
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
        if self.publish_at is None:
            return f"#{self.pk} {self.status}"
        return f"#{self.pk} {self.status} at {self.publish_at:%Y-%m-%d %H:%M:%S}Z"

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.PUBLISHING, self.Status.FAILED, self.Status.DRAFT)

    @property
    def series_label(self) -> str:
        """"occurrence 3 of 10 of series #7" (or "occurrence 3 of series #7" for a rule with no
        COUNT); "" for a post that is not part of a series."""
        if self.series_id is None:
            return ""
        total = self.series.total if self.series else None
        of = f" of {total}" if total else ""
        return f"occurrence {self.series_index}{of} of series #{self.series_id}"

    @property
    def public_error(self) -> str:
        """What the author is told about last_error. last_error itself holds the detail (host
        names, ports, the start of an error page) for staff and the logs, not for authors."""
        if not self.last_error:
            return ""
        return "the feed could not be reached or did not answer in time (a fault on psched's side, not in your post)"

    @property
    def time_note(self) -> str:
        """The DST-fold note when publish_at's wall time happens twice in its zone and the first
        one is meant (what local_to_instant chose); "" otherwise."""
        if self.publish_at is None:
            return ""
        try:
            local = self.publish_at.astimezone(zone_get(self.timezone))
            parsed = local_to_instant(local.replace(tzinfo=None), self.timezone)
        except ValidationError:
            return ""
        return parsed.note if parsed.instant == self.publish_at else ""


class LocalDateTimeField(models.DateTimeField):
    """A wall-clock date-time with no zone (a series' start, read in the series' zone). Stored
    as written: Django's time-zone conversion is skipped both ways."""

    def get_prep_value(self, value):
        value = models.Field.get_prep_value(self, value)
        value = self.to_python(value)
        if value is not None and value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        # Labelled UTC so that the database layer stores the digits unchanged.
        return value.replace(tzinfo=dt_timezone.utc) if value is not None else None

    def from_db_value(self, value, expression, connection):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt_timezone.utc).replace(tzinfo=None)
        return value


class QueueSlot(models.Model):
    """A weekly posting slot: weekday and wall-clock time in the user's zone (their profile's,
    else UTC). Seconds are allowed, so tests can place slots seconds apart."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_slots")
    weekday = models.PositiveSmallIntegerField(help_text="0 Monday … 6 Sunday.")
    time = models.TimeField(help_text="Local wall-clock time in the user's zone.")

    class Meta:
        ordering = ["user", "weekday", "time"]
        constraints = [models.UniqueConstraint(fields=["user", "weekday", "time"], name="queue_slot_unique")]

    def __str__(self):
        return f"{self.user} {WEEKDAYS[self.weekday]} {self.time:%H:%M:%S}"

    @property
    def weekday_name(self) -> str:
        return WEEKDAY_NAMES[self.weekday]


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class Series(models.Model):
    """A recurring post: an RFC 5545 RRULE expanded from `start`, a wall-clock time in
    `timezone`, so 09:00 stays 09:00 across DST. Occurrences are materialized ahead of time as
    ordinary scheduled posts (series, series_index); materialized_until is the instant up to
    which that has been done."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="series")
    text = models.TextField()
    start = LocalDateTimeField(help_text="Local wall-clock date-time of the rule's start, in the series' zone.")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA zone of start and of every occurrence.")
    rrule = models.CharField(max_length=500, help_text="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10.")
    active = models.BooleanField(default=True, help_text="Off once stopped: no new occurrences.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    materialized_until = models.DateTimeField(null=True, blank=True, help_text="Occurrences up to here (UTC) exist.")
    # Where the job's next walk starts: the last occurrence it reached (local) and its index.
    # Empty: the start, index 1.
    cursor_local = LocalDateTimeField(null=True, blank=True, help_text="The last occurrence reached, local.")
    cursor_index = models.PositiveIntegerField(default=1, help_text="The index of cursor_local along the rule.")
    error = models.TextField(blank=True, help_text="Why the job stopped making occurrences; empty while it works.")
    # Indexes the series never makes (an EXDATE by index, so a rule change keeps it): skipped
    # ones may be restored; detached ones became posts of their own. Each entry is
    # {"index": n, "local": "YYYY-MM-DDTHH:MM:SS"} (local: where it fell when it was set, for
    # the calendar, which walks without numbers).
    skipped = models.JSONField(default=list, blank=True, help_text="Skipped occurrences: [{index, local}].")
    detached = models.JSONField(default=list, blank=True, help_text="Occurrences edited on their own: [{index, local}].")
    continues = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="continued_by",
        help_text="The series this one continues (an edit of \"this and the following\" occurrences).",
    )

    class Meta:
        verbose_name_plural = "series"
        indexes = [models.Index(fields=["active", "materialized_until"], name="series_materialize_idx")]

    def __str__(self):
        return f"series #{self.pk} {self.rrule} from {self.start:%Y-%m-%d %H:%M} {self.timezone}"

    @property
    def total(self) -> int | None:
        """How many occurrences the rule has when it says so (COUNT); None otherwise."""
        match = re.search(r"(?:^|;)COUNT=(\d+)", self.rrule.upper())
        return int(match.group(1)) if match else None

    def excluded_indexes(self) -> set[int]:
        """The indexes the series never makes: skipped or detached."""
        return {entry["index"] for entry in [*self.skipped, *self.detached]}

    def excluded_locals(self) -> set[str]:
        return {entry["local"] for entry in [*self.skipped, *self.detached]}
