"""Summaries of measurements, shared by the dashboard and the benchmark."""


def percentile_rank(count: int, fraction: float) -> int:
    """The index of the fraction's percentile among count sorted values (nearest rank), for
    reading it from the database (ORDER BY … LIMIT 1 OFFSET rank) rather than in Python."""
    return min(count - 1, max(0, round(fraction * (count - 1))))


def percentile(values, fraction: float):
    """The nearest-rank percentile (fraction 0.5 for p50, 0.99 for p99) of values, or None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[percentile_rank(len(ordered), fraction)]
