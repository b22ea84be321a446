"""Summaries of measurements, shared by the dashboard and the benchmark."""


def percentile(values, fraction: float):
    """The nearest-rank percentile (fraction 0.5 for p50, 0.99 for p99) of values, or None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]
