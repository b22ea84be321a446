import hashlib
import hmac

from django.db import models


def hash_credential(secret: str) -> str:
    # Credentials are 256-bit random tokens, so a plain SHA-256 is enough (no brute force).
    return hashlib.sha256(secret.encode()).hexdigest()


class DispatcherNode(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active"
        DRAINING = "draining"
        DOWN = "down"

    name = models.SlugField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    weight = models.PositiveIntegerField(default=100)
    last_seen = models.DateTimeField(null=True, blank=True)
    # How long the node's last tick took, for /metrics.
    last_tick_ms = models.PositiveIntegerField(null=True, blank=True)
    credential_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def queue(self) -> str:
        return f"dispatch.{self.name}"

    @property
    def tick_task_name(self) -> str:
        return f"tick {self.queue}"

    def credential_matches(self, secret: str) -> bool:
        return bool(self.credential_hash) and hmac.compare_digest(self.credential_hash, hash_credential(secret))
