from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from scheduling.models import ScheduledPost

from .models import DispatcherNode


def percentile(sorted_values: list[int], fraction: float) -> int | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def node_overview(*, now=None, window=timedelta(hours=1)) -> list[dict]:
    """Each node with its state, last tick, pending count, and the last hour's published posts
    and lateness (p50, p99, max)."""
    now = now or timezone.now()
    since = now - window
    nodes = DispatcherNode.objects.annotate(
        pending=Count("scheduled_posts", filter=Q(scheduled_posts__status=ScheduledPost.Status.PENDING)),
        publishing=Count("scheduled_posts", filter=Q(scheduled_posts__status=ScheduledPost.Status.PUBLISHING)),
    )
    lateness = {}
    recent = ScheduledPost.objects.filter(status=ScheduledPost.Status.PUBLISHED, published_at__gte=since)
    for node_id, late in recent.values_list("dispatcher_id", "lateness_ms").order_by("lateness_ms"):
        lateness.setdefault(node_id, []).append(late)
    overview = []
    for node in nodes:
        values = lateness.get(node.pk, [])
        overview.append({
            "node": node,
            "name": node.name,
            "queue": node.queue,
            "state": node.state,
            "weight": node.weight,
            "last_tick": node.last_seen,
            "pending": node.pending,
            "publishing": node.publishing,
            "published_last_hour": len(values),
            "lateness_p50_ms": percentile(values, 0.50),
            "lateness_p99_ms": percentile(values, 0.99),
            "lateness_max_ms": values[-1] if values else None,
        })
    return overview
