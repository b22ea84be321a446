"""The calendar at scale: a week and a month that hold 10,000 posts each, rendered server-side
(the whole view through Django's test client: middleware, the one query, the page), in ms.
Runs in the benchmark's own process against its database (bench/run.py sets Django up)."""
import re
import statistics
import time
from datetime import datetime, timedelta, timezone


def calendar(*, count: int = 10_000, renders: int = 20, progress=print) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.services import user_set_timezone
    from scheduling.models import ScheduledPost

    progress(f"calendar: a week and a month holding {count:,} posts")
    user, _ = get_user_model().objects.get_or_create(username="calendar-bench")
    user_set_timezone(user=user, timezone_name="Europe/Paris")
    # A Monday a year ahead (never due during the run), and its week, minute by minute.
    monday = (datetime.now(timezone.utc) + timedelta(days=365)).replace(hour=12, minute=0, second=0, microsecond=0)
    monday -= timedelta(days=monday.weekday())
    step = timedelta(days=6) / count
    rows = [
        ScheduledPost(author=user, text=f"calendar bench post {i}: " + "words " * 10, publish_at=monday + i * step,
                      due_at=monday + i * step, timezone="Europe/Paris")
        for i in range(count)
    ]
    ScheduledPost.objects.bulk_create(rows, batch_size=2000)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    results = {"posts": count}
    # The same week for a user with no posts: what the page costs on this machine without them.
    empty, _ = get_user_model().objects.get_or_create(username="calendar-bench-empty")
    other = Client(HTTP_HOST="127.0.0.1")
    other.force_login(empty)
    baseline = []
    for _ in range(renders):
        started = time.perf_counter()
        other.get(f"/calendar/?view=week&date={monday:%Y-%m-%d}")
        baseline.append((time.perf_counter() - started) * 1000)
    results["empty_week_p50_ms"] = round(statistics.median(baseline), 1)
    try:
        for view in ("week", "month"):
            url = f"/calendar/?view={view}&date={monday:%Y-%m-%d}"
            for _ in range(3):  # warm up
                response = client.get(url)
            assert response.status_code == 200, response.status_code
            # Every post is on the page, as a chip or counted in a "+N more" link to its day.
            shown = response.content.count(b'class="cal-post ')
            behind = sum(int(n) for n in re.findall(rb">\+(\d+) more</a>", response.content))
            assert shown + behind == count, f"{view}: {shown} shown and {behind} behind links, of {count}"
            results[f"{view}_chips"] = shown
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            results[f"{view}_queries"] = len(queries)  # read now: the next request clears the log
            durations = []
            for _ in range(renders):
                started = time.perf_counter()
                client.get(url)
                durations.append((time.perf_counter() - started) * 1000)
            results[f"{view}_p50_ms"] = round(statistics.median(durations), 1)
            results[f"{view}_max_ms"] = round(max(durations), 1)
            results[f"{view}_page_kb"] = round(len(response.content) / 1024)
    finally:
        ScheduledPost.objects.filter(author=user).delete()
    return results
