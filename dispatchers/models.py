import hashlib

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
    # How far the node's host clock was ahead of the database's at its last tick (negative:
    # behind). Only reported: every decision uses the database clock.
    clock_offset_ms = models.IntegerField(null=True, blank=True)
    # The last tick beat sent it. While beat is silent its workers tick by themselves
    # (dispatchers.worker), so last_seen stays fresh: this is how /healthz still sees beat gone.
    beat_seen = models.DateTimeField(null=True, blank=True)
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
        # Looked up by its hash: timing tells nothing about a 256-bit secret behind SHA-256.
        return bool(secret) and self.credentials.filter(secret_hash=hash_credential(secret)).exists()


class NodeCredential(models.Model):
    """One callback credential of a node, stored hashed. A node may hold several: each worker
    started without PSCHED_NODE_CREDENTIAL issues its own, so workers of one node never revoke
    each other's; rotating or revoking (dispatcher_credential) replaces them all."""

    node = models.ForeignKey(DispatcherNode, on_delete=models.CASCADE, related_name="credentials")
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Touched by the node's ticks now and then (not on every one): unused ones are pruned.
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"credential of {self.node.name}"


class DispatcherWorker(models.Model):
    """One running worker process of a node, alive while it beats (every tick interval, from a
    thread of its own, by the database clock). Its claim tokens start with its claim_prefix, so a worker
    that falls silent has its claims released as soon as a dead node's would be, even when its
    node lives on in another worker (restarted in the same second, or a second worker)."""

    node = models.ForeignKey(DispatcherNode, on_delete=models.CASCADE, related_name="workers")
    claim_prefix = models.CharField(max_length=8, unique=True)
    # Where it runs (host name and process id), for people reading the admin or logs.
    process = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    def __str__(self):
        return f"worker {self.claim_prefix} of {self.node.name}"
