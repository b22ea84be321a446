"""The interface every destination kind implements. A new network is one module in this folder
with one Kind subclass, registered with @kind_register (destinations/kinds/__init__.py).

A kind never touches the database: psched hands it a DeliveryJob (everything one try needs,
secrets decrypted) and records the Outcome it returns. The key rule of a kind: `job.key` is
fixed before the first try and is the same on every try of the delivery; send it so that the
destination applies it once (a webhook's webhook-id, a record key on Bluesky). Never make a
fresh key per try."""
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DeliveryJob:
    key: str  # the delivery's fixed key: the same on every try
    event_type: str  # "post.published", or "destination.test"
    data: dict  # the event's data (post, scheduled_post, author, text, published_at, url)
    occurred_at: datetime  # when the event happened (the post's published_at): fixed across tries
    sent_at: datetime  # this try's instant (the database clock)
    attempt: int  # 1 for the first try
    config: dict  # the destination's config, as the kind's clean() returned it
    secrets: list[str] = field(default_factory=list, repr=False)  # newest first; decrypted
    # The previous try's outcome was unknown (a node died mid-send, a timeout, a 5xx).
    unconfirmed: bool = False
    remote_id: str = ""  # what an earlier try learned of the remote record, if anything
    # The kind's stored login session (a Bluesky account's tokens), decrypted; "" when none.
    session: str = field(default="", repr=False)


@dataclass(frozen=True)
class Outcome:
    """What one try (or a reconcile) found out.

    state: "delivered" (the destination has it), "retry" (it surely has not: send again
    later), "unconfirmed" (it may have: reconcile or resend with the same key later),
    "failed" (never going to work: stop), "gone" (the destination itself is gone: stop and
    disable the destination), "attention" (it surely has not, and only the destination's owner
    can fix it, e.g. a revoked password: the destination waits for them, its deliveries kept)."""

    state: str
    status: int | None = None  # the HTTP status, when there was one
    remote_id: str = ""
    remote_url: str = ""
    error: str = ""  # shown to the destination's owner: no secrets
    retry_after: float | None = None  # seconds the destination asked us to wait
    # retry_after holds for every delivery of the destination (a rate limit per account).
    destination_wait: bool = False
    # A new login session to keep (encrypted) for the next tries: "" when unchanged.
    session: str = field(default="", repr=False)

    STATES = ("delivered", "retry", "unconfirmed", "failed", "gone", "attention")

    def __post_init__(self):
        if self.state not in self.STATES:
            raise ValueError(f"unknown outcome state {self.state!r}")


class Kind:
    """One kind of destination. Subclasses set `name` and `label` and implement the methods."""

    name: str = ""
    label: str = ""
    # The kind signs or logs in with a secret that psched makes (webhook) or that the user gives.
    has_secret: bool = False
    # The config field in which the user gives the secret (clean() returns it there; it is
    # stored encrypted, never in config, and not shown back). Empty: psched makes it (secret_new).
    secret_field: str = ""

    def clean(self, *, config: dict) -> dict:
        """Checks what a user typed (a dict of the API's or form's fields) and returns the
        config to store. Raises django.core.exceptions.ValidationError naming each field."""
        raise NotImplementedError

    def secret_new(self) -> str:
        """A new secret for a destination of this kind (shown once to its owner)."""
        return ""

    def remote_id_new(self, *, config: dict, delivery_id: int, created_at: datetime) -> str:
        """The remote id a delivery will have, when the kind fixes it before the first try
        (a Bluesky record's at:// URI); written with the delivery. "" when it learns it later."""
        return ""

    def text_problem(self, *, text: str) -> str | None:
        """Why this destination would refuse the text (checked when a post is scheduled)."""
        return None

    def check(self, *, job: DeliveryJob) -> Outcome:
        """Tries the destination with a test event ("destination.test") and says how it went."""
        return self.deliver(job=job)

    def deliver(self, *, job: DeliveryJob) -> Outcome:
        """One try. Network I/O happens here, outside any database transaction."""
        raise NotImplementedError

    def reconcile(self, *, job: DeliveryJob) -> Outcome | None:
        """After an unknown outcome, before sending again: ask the destination whether it has
        job.key. None when it cannot be asked; the job is then sent again with the same key."""
        return None

    def retry_schedule(self) -> list[float]:
        """Seconds to wait before each try: [before the 1st, before the 2nd, …]. After the last
        try fails, the delivery is failed."""
        raise NotImplementedError

    def describe(self, *, config: dict) -> str:
        """One line naming where this destination sends (a URL, an account), for lists."""
        return ""
