"""The feed: psched's own, always chosen. Publishing is the delivery (the callback's
transaction), so it has no outbox row and nothing to send."""
from . import kind_register
from .base import DeliveryJob, Kind, Outcome


@kind_register
class FeedKind(Kind):
    name = "feed"
    label = "psched feed"

    def clean(self, *, config: dict) -> dict:
        return {}

    def deliver(self, *, job: DeliveryJob) -> Outcome:
        return Outcome("delivered")

    def reconcile(self, *, job: DeliveryJob) -> Outcome | None:
        return Outcome("delivered")

    def retry_schedule(self) -> list[float]:
        return [0]
