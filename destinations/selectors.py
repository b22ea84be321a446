"""Reads of destinations and deliveries."""
from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, Q, Sum

from psched.lib.cache import figures_cached
from psched.lib.db import db_now

from psched.lib.api import datetime_text

from scheduling.models import Series

from .models import Delivery, Destination, Selection, SeriesChoice


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
    for delivery in Delivery.objects.filter(scheduled_post_id__in=ids).select_related("destination").order_by("pk"):
        found[delivery.scheduled_post_id].append(delivery)
    return found


def deliveries_by_post(*, user, post_ids: list[int]) -> dict[int, list[Delivery]]:
    """The feed posts' deliveries to the user's own destinations, in one query."""
    found = defaultdict(list)
    for delivery in deliveries_of(user=user).filter(post_id__in=post_ids).select_related("destination").order_by("pk"):
        found[delivery.post_id].append(delivery)
    return found


def selections_by_scheduled_post(*, ids: list[int]) -> defaultdict[int, list[int]]:
    """{scheduled post id: its chosen destinations' ids}, in the order they were chosen."""
    chosen = defaultdict(list)
    for scheduled_post_id, destination_id in Selection.objects.filter(scheduled_post_id__in=ids).order_by(
        "pk"
    ).values_list("scheduled_post_id", "destination_id"):
        chosen[scheduled_post_id].append(destination_id)
    return chosen


def scheduled_posts_extend(*, scheduled_posts, **signal) -> dict[int, dict]:
    """Receives scheduling's scheduled_posts_serializing: each post's chosen destinations and,
    once published, its deliveries. At most two queries for a whole answer."""
    posts = [post for post in scheduled_posts if post.pk is not None]
    unknown = [post.pk for post in posts if not hasattr(post, "destination_ids")]
    chosen = selections_by_scheduled_post(ids=unknown) if unknown else defaultdict(list)
    published = [post.pk for post in posts if post.status == "published"]
    deliveries = deliveries_by_scheduled_post(ids=published) if published else {}
    return {
        post.pk: {
            "destinations": list(getattr(post, "destination_ids", None) or chosen[post.pk]),
            "deliveries": [delivery_serialize(delivery) for delivery in deliveries.get(post.pk, [])],
            "delivery_rows": deliveries.get(post.pk, []),  # for the pages (scheduled_post_serialize leaves it out)
        }
        for post in posts
    }


def deliveries_by_state() -> dict[str, int]:
    counts = {state: 0 for state in Delivery.State.values}
    for row in Delivery.objects.values("state").order_by().annotate(n=Count("pk")):
        counts[row["state"]] = row["n"]
    return counts


# Bucket bounds of the delivery lateness histogram on /metrics, in milliseconds.
DELIVERY_LATENESS_BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 5000, 30000, 300000, 3600000)


def delivery_figures(*, window=timedelta(hours=1)) -> dict:
    """Deliveries by state, and the lateness after publishing of those delivered in the window
    (cumulative buckets), in two queries."""
    since = db_now() - window
    figures = Delivery.objects.filter(state=Delivery.State.DELIVERED, delivered_at__gte=since).aggregate(
        count=Count("pk"),
        total_ms=Sum("lateness_ms"),
        **{f"le_{bound}": Count("pk", filter=Q(lateness_ms__lte=bound)) for bound in DELIVERY_LATENESS_BUCKETS_MS},
    )
    return {
        "by_state": deliveries_by_state(),
        "lateness": {
            "buckets": [(bound, figures[f"le_{bound}"]) for bound in DELIVERY_LATENESS_BUCKETS_MS],
            "count": figures["count"],
            "sum_ms": figures["total_ms"] or 0,
        },
    }


def delivery_figures_cached() -> dict:
    return figures_cached("destinations:delivery_figures", delivery_figures)


def destinations_overview(*, user) -> list[Destination]:
    """The user's destinations, each with its deliveries counted by state (`counts`)."""
    destinations = list(destinations_of(user=user).annotate(
        **{f"n_{state}": Count("deliveries", filter=Q(deliveries__state=state)) for state in Delivery.State.values}
    ))
    for destination in destinations:
        destination.counts = {state: getattr(destination, f"n_{state}") for state in Delivery.State.values}
    return destinations


NOTICE_CAP = 100


def delivery_problems(*, user) -> int:
    """Deliveries that failed for good and destinations psched disabled or that need their
    owner (a revoked app password): the navigation's notice, on every page, so it reads at most
    NOTICE_CAP ids of each instead of counting them all."""
    failed = Delivery.objects.filter(destination__owner=user, state=Delivery.State.FAILED)
    stopped = Destination.objects.filter(
        owner=user, state__in=[Destination.State.DISABLED, Destination.State.NEEDS_ATTENTION]
    )
    return min(NOTICE_CAP, sum(len(rows.values_list("pk", flat=True)[:NOTICE_CAP]) for rows in (failed, stopped)))


def destinations_choosable(*, user) -> list[Destination]:
    """The user's destinations a new post may name (not the disabled ones)."""
    return list(destinations_of(user=user).exclude(state=Destination.State.DISABLED).only("pk", "name", "is_default", "state"))


# A continuation of a continuation …: how far back a series' choice is looked for.
SERIES_ANCESTORS = 50


def series_choices_read(*, series_ids) -> dict[int, list[int]]:
    """{series id: its chosen destinations} for the series that have a choice, their own or
    that of the series they continue ("this and the following ones")."""
    found: dict[int, list[int]] = {}
    wanted = set(series_ids)
    through = SeriesChoice.destinations.through
    own = set(SeriesChoice.objects.filter(series_id__in=wanted).values_list("series_id", flat=True))
    for series_id in own:
        found[series_id] = []
    for series_id, destination_id in through.objects.filter(serieschoice_id__in=own).values_list(
        "serieschoice_id", "destination_id"
    ):
        found[series_id].append(destination_id)
    for series_id in wanted - own:
        ancestor, steps = series_id, 0
        while steps < SERIES_ANCESTORS:
            ancestor = Series.objects.filter(pk=ancestor).values_list("continues_id", flat=True).first()
            if ancestor is None:
                break
            steps += 1
            choice = SeriesChoice.objects.filter(series_id=ancestor).first()
            if choice is not None:
                found[series_id] = list(choice.destinations.values_list("pk", flat=True))
                break
    return found

