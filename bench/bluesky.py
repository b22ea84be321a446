"""The ceiling of a local PDS (stack.pds.LocalPds): sequential putRecord calls from one client,
psched.lib.bluesky's own write (swapRecord null, a fixed record key), so the Bluesky deliveries
of the benchmark have a figure measured in the same run to be judged against.

    .venv/bin/python -m bench.bluesky [--posts 100] [--rounds 3]     (prints JSON)
"""
import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from psched.lib.bluesky import BlueskyClient, post_record, record_key
from psched.lib.stats import percentile
from stack.pds import LocalPds


def pds_rss_mb(pds: LocalPds) -> float:
    try:
        for line in Path(f"/proc/{pds.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def pds_ceiling(*, posts: int = 100, rounds: int = 3, progress=print) -> dict:
    """Starts a PDS on a temporary data directory, writes `rounds` rounds of `posts` records one
    after another, and reports the median round's rate and the latency of each call."""
    with tempfile.TemporaryDirectory(prefix="psched-bench-pds-") as folder:
        started = time.monotonic()
        pds = LocalPds(Path(folder) / "data").start()
        start_seconds = time.monotonic() - started
        try:
            pds.create_account("bench.test", "bench-password-1")
            app_password = pds.create_app_password("bench.test", "bench-password-1", "bench")
            client = BlueskyClient(pds.url, "bench.test", app_password)
            client.login()
            delivery_id = 0

            def write_one(text: str) -> float:
                nonlocal delivery_id
                delivery_id += 1
                now = datetime.now(timezone.utc)
                begin = time.perf_counter()
                client.put_post(record_key(instant=now, delivery_id=delivery_id), post_record(text=text, created_at=now))
                return time.perf_counter() - begin

            for number in range(20):  # warm up: JIT, connections, the repository's first blocks
                write_one(f"warm-up {number}")
            rates, latencies = [], []
            for round_number in range(rounds):
                begin = time.perf_counter()
                round_latencies = [write_one(f"bench round {round_number} post {number}") for number in range(posts)]
                elapsed = time.perf_counter() - begin
                rates.append(posts / elapsed)
                latencies += round_latencies
                progress(f"pds ceiling: round {round_number + 1}: {posts} putRecord in {elapsed:.2f} s")
            ms = sorted(latency * 1000 for latency in latencies)
            return {
                "posts_per_round": posts,
                "rounds": rounds,
                "puts_per_second": round(statistics.median(rates), 1),
                "seconds_per_100": round(100 / statistics.median(rates), 2),
                "p50_ms": round(percentile(ms, 0.5), 1),
                "p99_ms": round(percentile(ms, 0.99), 1),
                "pds_start_seconds": round(start_seconds, 1),
                "pds_rss_mb": pds_rss_mb(pds),
            }
        finally:
            pds.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(pds_ceiling(posts=args.posts, rounds=args.rounds), indent=2))


if __name__ == "__main__":
    main()
