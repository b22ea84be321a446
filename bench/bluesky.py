"""Bluesky in the benchmark: the ceiling of a local PDS (stack.pds.LocalPds), sequential
putRecord calls from one client with psched.lib.bluesky's own write (swapRecord null, a fixed
record key); and psched's deliveries to that PDS (posts published by the nodes, then delivered
by them), judged against the ceiling measured in the same run.

    .venv/bin/python -m bench.bluesky [--posts 100] [--rounds 3]     (the ceiling alone, JSON)
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
from stack import at, wait_for
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


def deliveries(stack, *, posts: int = 500, progress=print) -> dict:
    """`posts` posts due together, each with a delivery to one Bluesky destination on a local
    PDS: deliveries per second from the first publication to the last delivery, and the
    lateness of each delivery after its post's publication (delivered_at − published_at)."""
    with tempfile.TemporaryDirectory(prefix="psched-bench-pds-") as folder:
        pds = LocalPds(Path(folder) / "data").start()
        try:
            pds.create_account("deliveries.test", "bench-password-1")
            app_password = pds.create_app_password("deliveries.test", "bench-password-1", "bench")
            status, body = stack.request("POST", "/api/destinations/", {
                "name": "bench-bluesky", "kind": "bluesky", "pds_url": pds.url, "handle": "deliveries.test",
                "app_password": app_password,
            })
            assert status == 201, body
            destination = body["id"]
            progress(f"bluesky deliveries: {posts} posts to a local PDS")
            stack.schedule([{"text": f"bluesky bench {i}", "publish_at": at(5), "destinations": [destination]}
                            for i in range(posts)])

            def delivered():
                return stack.query(
                    "SELECT COUNT(*) FROM destinations_delivery WHERE destination_id = %s AND state = 'delivered'",
                    (destination,))[0][0]
            wait_for(lambda: delivered() >= posts, 600, interval=0.5, what=f"{posts} Bluesky deliveries")
            rows = stack.query(
                "SELECT p.published_at, d.delivered_at, d.lateness_ms, d.attempts FROM destinations_delivery d "
                "JOIN feed_post p ON p.id = d.post_id WHERE d.destination_id = %s", (destination,))
            seconds = (max(row[1] for row in rows) - min(row[0] for row in rows)).total_seconds()
            lateness = sorted(row[2] for row in rows)
            records = len(pds.list_records(pds.call(
                "GET", "com.atproto.identity.resolveHandle", params="handle=deliveries.test")["did"]))
            return {
                "posts": posts,
                "deliveries_per_second": round(posts / seconds, 1) if seconds > 0 else None,
                "lateness_p50_ms": percentile(lateness, 0.5),
                "lateness_p99_ms": percentile(lateness, 0.99),
                "lateness_max_ms": lateness[-1],
                "tries": sum(row[3] for row in rows),
                "records": records,
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
