from datetime import datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncMinute
from psched.lib.cache import figures_cached
from psched.lib.db import db_now
from psched.lib.stats import percentile_rank
from scheduling.models import ScheduledPost

from .models import DispatcherNode


def _lateness_figures(recent) -> dict:
    """Count, p50, p99 and max of the lateness of `recent` (published posts), in SQL: an
    aggregate and one indexed row per percentile, never the values themselves."""
    figures = recent.aggregate(count=Count("pk"), max=Max("lateness_ms"))
    count = figures["count"]
    ordered = recent.order_by("lateness_ms").values_list("lateness_ms", flat=True)
    return {
        "published": count,
        "lateness_p50_ms": ordered[percentile_rank(count, 0.50)] if count else None,
        "lateness_p99_ms": ordered[percentile_rank(count, 0.99)] if count else None,
        "lateness_max_ms": figures["max"],
    }


def node_figures(*, now=None, window=timedelta(hours=1)) -> dict[int, dict]:
    """Per node id: pending and publishing posts, and the window's published posts and
    lateness. Counts over the whole schedule: read them through node_figures_cached()."""
    now = now or db_now()
    figures = {}
    in_flight = (
        ScheduledPost.objects.filter(status__in=ScheduledPost.UPCOMING)
        .values_list("dispatcher_id", "status").annotate(count=Count("pk")).order_by()
    )
    for node_id, status, count in in_flight:
        figures.setdefault(node_id, {})[status] = count
    recent = _published_since(now - window)
    for node_id in recent.values_list("dispatcher_id", flat=True).distinct():
        figures.setdefault(node_id, {}).update(_lateness_figures(recent.filter(dispatcher_id=node_id)))
    return figures


def node_overview(*, now=None, window=timedelta(hours=1), figures: dict | None = None) -> list[dict]:
    """Each node with its state, last tick, pending count, and the last hour's published posts
    and lateness (p50, p99, max). figures: node_figures() as computed earlier (cached)."""
    if figures is None:
        figures = node_figures(now=now, window=window)
    overview = []
    for node in DispatcherNode.objects.all():
        node_figures_ = figures.get(node.pk, {})
        overview.append({
            "node": node,
            "name": node.name,
            "queue": node.queue,
            "state": node.state,
            "weight": node.weight,
            "last_tick": node.last_seen,
            "clock_offset_ms": node.clock_offset_ms,
            "clock_offset": clock_offset_text(node.clock_offset_ms),
            "clock_warning": clock_offset_warning(node.clock_offset_ms),
            "pending": node_figures_.get(ScheduledPost.Status.PENDING, 0),
            "publishing": node_figures_.get(ScheduledPost.Status.PUBLISHING, 0),
            "published_last_hour": node_figures_.get("published", 0),
            "lateness_p50_ms": node_figures_.get("lateness_p50_ms"),
            "lateness_p99_ms": node_figures_.get("lateness_p99_ms"),
            "lateness_max_ms": node_figures_.get("lateness_max_ms"),
        })
    return overview


def schedule_figures() -> dict:
    """Everything the dashboard and /metrics show that is counted over the schedule."""
    now = db_now()
    return {
        "nodes": node_figures(now=now),
        "counts": scheduled_post_counts(),
        "lateness_histogram": lateness_histogram(now=now),
        "lateness_cumulative": lateness_cumulative_buckets(now=now),
        "published_per_minute": published_per_minute(now=now),
    }


def schedule_figures_cached() -> dict:
    """schedule_figures(), at most PSCHED_FIGURES_SECONDS old (plus one computation)."""
    return figures_cached("dispatchers:schedule_figures", schedule_figures)


# Lateness buckets for the dashboard's histogram: (range, axis label, lower ms, upper ms).
LATENESS_BUCKETS = [
    ("<100 ms", "<100 ms", None, 100),
    ("100–250 ms", "<250 ms", 100, 250),
    ("250–500 ms", "<500 ms", 250, 500),
    ("0.5–1 s", "<1 s", 500, 1000),
    ("1–2 s", "<2 s", 1000, 2000),
    ("2–5 s", "<5 s", 2000, 5000),
    ("5–15 s", "<15 s", 5000, 15000),
    ("15–60 s", "<60 s", 15000, 60000),
    ("≥1 min", "≥60 s", 60000, None),
]


def _published_since(since):
    return ScheduledPost.objects.filter(status=ScheduledPost.Status.PUBLISHED, published_at__gte=since).order_by()


def lateness_histogram(*, now=None, window=timedelta(hours=1)) -> list[dict]:
    """How many posts published in the window fell in each lateness bucket, in one query:
    [{"range", "label", "count"}, …] from the least late to the latest."""
    now = now or db_now()
    counts = {}
    for index, (_, _, low, high) in enumerate(LATENESS_BUCKETS):
        bucket = Q()
        if low is not None:
            bucket &= Q(lateness_ms__gte=low)
        if high is not None:
            bucket &= Q(lateness_ms__lt=high)
        counts[f"bucket_{index}"] = Count("id", filter=bucket)
    totals = _published_since(now - window).aggregate(**counts)
    return [
        {"range": range_, "label": label, "count": totals[f"bucket_{index}"]}
        for index, (range_, label, _, _) in enumerate(LATENESS_BUCKETS)
    ]


def published_per_minute(*, now=None, minutes: int = 60) -> list[tuple[datetime, int]]:
    """Posts published in each of the last `minutes` minutes (UTC minute starts), oldest first."""
    now = now or db_now()
    first = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    rows = (
        _published_since(first)
        .annotate(minute=TruncMinute("published_at", tzinfo=dt_timezone.utc))
        .values("minute")
        .annotate(count=Count("id"))
    )
    counts = {row["minute"].astimezone(dt_timezone.utc): row["count"] for row in rows}
    slots = [first + timedelta(minutes=offset) for offset in range(minutes)]
    return [(slot, counts.get(slot, 0)) for slot in slots]


def nodes_next_due(*, per_node: int = 5) -> dict[int, list[ScheduledPost]]:
    """Each node's next pending posts, soonest first (the claim index serves each query)."""
    return {
        node_id: list(
            # Authors fetched afterwards: joined, MariaDB drives the join from auth_user and
            # sorts every pending post of the node (seconds at 1,000,000 pending).
            ScheduledPost.objects.filter(dispatcher_id=node_id, status=ScheduledPost.Status.PENDING)
            .prefetch_related("author")
            .order_by("due_at")[:per_node]
        )
        for node_id in DispatcherNode.objects.values_list("pk", flat=True)
    }


def node_get(*, name: str) -> DispatcherNode | None:
    return DispatcherNode.objects.filter(name=name).first()


def tick_recent_window() -> timedelta:
    """A tick newer than this means beat is running and the node is alive: a few tick
    intervals, and never less than 5 s, so one late tick does not turn anything red."""
    return timedelta(seconds=max(5, 3 * settings.PSCHED_TICK_SECONDS))


def node_ticked_recently(*, node: DispatcherNode, now) -> bool:
    return node.last_seen is not None and now - node.last_seen <= tick_recent_window()


def clock_offset_text(offset_ms: int | None) -> str:
    """A node's clock offset for people: "+30.0 s" (ahead of the database clock), "-0.2 s"."""
    if offset_ms is None:
        return "unknown"
    return f"{round(offset_ms / 1000, 1) + 0.0:+.1f} s"  # + 0.0: no "-0.0 s" for a few ms behind


def clock_offset_warning(offset_ms: int | None) -> str:
    """A warning when a node's clock is off by more than PSCHED_CLOCK_WARN_SECONDS. psched
    works the same either way (the database clock decides); the host's NTP needs a look."""
    if offset_ms is None or abs(offset_ms) <= settings.PSCHED_CLOCK_WARN_SECONDS * 1000:
        return ""
    direction = "ahead of" if offset_ms > 0 else "behind"
    return f"clock {abs(offset_ms) / 1000:.1f} s {direction} the database's: check NTP on this host"


def nodes_health(*, now=None) -> dict:
    """Each node's state and last tick, whether it is fine (not down, ticked recently), whether
    any node ticked recently at all (if none did, nothing publishes), and whether beat sent
    any of those ticks. A node's clock offset is a warning, never a failure."""
    now = now or db_now()
    nodes = {}
    for node in DispatcherNode.objects.all():
        nodes[node.name] = {
            "state": node.state,
            "last_tick": node.last_seen,
            "ok": node.state != DispatcherNode.State.DOWN and node_ticked_recently(node=node, now=now),
            "clock_offset_ms": node.clock_offset_ms,
        }
        warning = clock_offset_warning(node.clock_offset_ms)
        if warning:
            nodes[node.name]["warning"] = warning
    newest = DispatcherNode.objects.aggregate(newest=Max("last_seen"), beat=Max("beat_seen"))
    return {
        "nodes": nodes, "ticking": newest["newest"] is not None and now - newest["newest"] <= tick_recent_window(),
        "last_tick": newest["newest"],
        # Nodes tick by themselves while beat is silent: their ticks alone no longer say it runs.
        "beat_ticking": newest["beat"] is not None and now - newest["beat"] <= tick_recent_window(),
        "last_beat_tick": newest["beat"],
    }


def scheduled_post_counts() -> dict[str, int]:
    """How many scheduled posts are in each status (every status present, zero or not)."""
    counts = dict(ScheduledPost.objects.values_list("status").annotate(count=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in ScheduledPost.Status.values}


def schedule_status(*, now=None, window=timedelta(hours=1)) -> dict:
    """What psched_status shows: counts per status, and the window's lateness (p50, p99)."""
    now = now or db_now()
    lateness = _lateness_figures(_published_since(now - window))
    return {
        "counts": scheduled_post_counts(),
        "published_in_window": lateness["published"],
        "lateness_p50_ms": lateness["lateness_p50_ms"],
        "lateness_p99_ms": lateness["lateness_p99_ms"],
    }


# Bucket bounds of the lateness histogram on /metrics, in milliseconds.
LATENESS_BUCKETS_MS = (50, 100, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000, 300000)


def lateness_cumulative_buckets(*, now=None, window=timedelta(hours=1)) -> dict:
    """Cumulative counts per lateness bucket of the window's published posts, in one query."""
    now = now or db_now()
    figures = _published_since(now - window).aggregate(
        count=Count("pk"),
        total_ms=Sum("lateness_ms"),
        **{f"le_{bound}": Count("pk", filter=Q(lateness_ms__lte=bound)) for bound in LATENESS_BUCKETS_MS},
    )
    return {
        "buckets": [(bound, figures[f"le_{bound}"]) for bound in LATENESS_BUCKETS_MS],
        "count": figures["count"],
        "sum_ms": figures["total_ms"] or 0,
    }


def node_metrics(*, figures: dict | None = None) -> list[dict]:
    """Per node: pending posts and the last tick's duration and time. figures: node_figures()
    as computed earlier (cached)."""
    if figures is None:
        figures = node_figures()
    return [
        {"name": node.name, "state": node.state,
         "pending": figures.get(node.pk, {}).get(ScheduledPost.Status.PENDING, 0),
         "last_tick_ms": node.last_tick_ms, "last_tick": node.last_seen,
         "clock_offset_ms": node.clock_offset_ms}
        for node in DispatcherNode.objects.all()
    ]
