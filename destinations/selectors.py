"""Reads of destinations and deliveries."""
from collections import defaultdict

from django.db.models import Count

from psched.lib.api import datetime_text

from .models import Delivery, Destination, Selection


def destinations_of(*, user):
    return Destination.objects.filter(owner=user).order_by("name", "pk")


def deliveries_of(*, user):
    """The deliveries a user may see and retry: those to their own destinations."""
    return Delivery.objects.filter(destination__owner=user)


def delivery_serialize(delivery: Delivery) -> dict:
    return {
        "id": delivery.pk,
        "destination": delivery.destination_id,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "remote_id": delivery.remote_id,
        "delivered_at": datetime_text(delivery.delivered_at),
        "error": delivery.error,
    }


def deliveries_by_scheduled_post(*, ids: list[int]) -> dict[int, list[Delivery]]:
    found = defaultdict(list)
    for delivery in Delivery.objects.filter(scheduled_post_id__in=ids).order_by("pk"):
        found[delivery.scheduled_post_id].append(delivery)
    return found


def scheduled_posts_extend(*, scheduled_posts, **signal) -> dict[int, dict]:
    """Receives scheduling's scheduled_posts_serializing: each post's chosen destinations and,
    once published, its deliveries. At most two queries for a whole answer."""
    posts = [post for post in scheduled_posts if post.pk is not None]
    unknown = [post.pk for post in posts if not hasattr(post, "destination_ids")]
    chosen = defaultdict(list)
    if unknown:
        for scheduled_post_id, destination_id in Selection.objects.filter(scheduled_post_id__in=unknown).order_by(
            "pk"
        ).values_list("scheduled_post_id", "destination_id"):
            chosen[scheduled_post_id].append(destination_id)
    published = [post.pk for post in posts if post.status == "published"]
    deliveries = deliveries_by_scheduled_post(ids=published) if published else {}
    return {
        post.pk: {
            "destinations": list(getattr(post, "destination_ids", None) or chosen[post.pk]),
            "deliveries": [delivery_serialize(delivery) for delivery in deliveries.get(post.pk, [])],
        }
        for post in posts
    }


def deliveries_by_state() -> dict[str, int]:
    counts = {state: 0 for state in Delivery.State.values}
    for row in Delivery.objects.values("state").order_by().annotate(n=Count("pk")):
        counts[row["state"]] = row["n"]
    return counts
