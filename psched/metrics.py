"""Prometheus metrics for /metrics, from the database: every gunicorn worker and node process
writes to the same tables, so any web worker can answer. Counts over the whole schedule come
from the cache (at most PSCHED_FIGURES_SECONDS old), so a scrape, public and frequent, does
not run them each time; the nodes' own rows are read at every scrape."""
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from destinations.selectors import delivery_figures_cached
from dispatchers.selectors import node_metrics, schedule_figures_cached


class PschedCollector(Collector):
    def collect(self):
        figures = schedule_figures_cached()
        counts = figures["counts"]
        published = CounterMetricFamily(
            "psched_posts_published", "Scheduled posts published since the start (rows in status published)."
        )
        published.add_metric([], counts["published"])
        yield published

        by_status = GaugeMetricFamily("psched_scheduled_posts", "Scheduled posts in each status.", labels=["status"])
        for status, count in counts.items():
            by_status.add_metric([status], count)
        yield by_status

        failed = GaugeMetricFamily("psched_posts_failed", "Scheduled posts that failed and wait for a retry.")
        failed.add_metric([], counts["failed"])
        yield failed

        histogram = figures["lateness_cumulative"]
        lateness = HistogramMetricFamily(
            "psched_publish_lateness_milliseconds",
            "Lateness (published_at - publish_at) of the posts published in the last hour.",
            buckets=[(str(float(bound)), count) for bound, count in histogram["buckets"]]
            + [("+Inf", histogram["count"])],
            sum_value=histogram["sum_ms"],
        )
        yield lateness

        nodes = node_metrics(figures=figures["nodes"])
        pending = GaugeMetricFamily("psched_node_pending", "Pending scheduled posts routed to the node.", labels=["node"])
        up = GaugeMetricFamily("psched_node_active", "1 when the node's state is active, else 0.", labels=["node", "state"])
        tick = GaugeMetricFamily(
            "psched_node_tick_duration_milliseconds", "How long the node's last tick took.", labels=["node"]
        )
        last_tick = GaugeMetricFamily(
            "psched_node_last_tick_timestamp_seconds", "When the node last ticked (Unix time).", labels=["node"]
        )
        offset = GaugeMetricFamily(
            "psched_node_clock_offset_seconds",
            "How far the node's host clock was ahead of the database clock at its last tick (negative: behind).",
            labels=["node"],
        )
        for node in nodes:
            if node["clock_offset_ms"] is not None:
                offset.add_metric([node["name"]], node["clock_offset_ms"] / 1000)
            pending.add_metric([node["name"]], node["pending"])
            up.add_metric([node["name"], node["state"]], 1 if node["state"] == "active" else 0)
            if node["last_tick_ms"] is not None:
                tick.add_metric([node["name"]], node["last_tick_ms"])
            if node["last_tick"] is not None:
                last_tick.add_metric([node["name"]], node["last_tick"].timestamp())
        yield from (pending, up, tick, last_tick, offset)
        yield from _delivery_metrics(delivery_figures_cached())


def _delivery_metrics(figures: dict):
    by_state = GaugeMetricFamily("psched_deliveries", "Deliveries to destinations in each state.", labels=["state"])
    for state, count in figures["by_state"].items():
        by_state.add_metric([state], count)
    yield by_state
    histogram = figures["lateness"]
    yield HistogramMetricFamily(
        "psched_delivery_lateness_milliseconds",
        "Lateness after publishing (delivered_at - the post's published_at) of the deliveries made in the last hour.",
        buckets=[(str(float(bound)), count) for bound, count in histogram["buckets"]] + [("+Inf", histogram["count"])],
        sum_value=histogram["sum_ms"],
    )


registry = CollectorRegistry(auto_describe=False)
registry.register(PschedCollector())
