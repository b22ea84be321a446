"""The nemesis soak: `python -m soak.run --minutes 30 [--seed N]` (`make soak`).

Starts psched on test hosts (soak.cluster), runs the clients (soak.workload) and the nemesis
(soak.nemesis) for the given minutes, ends every fault, waits until every post due by then
has settled, writes the database to the history, and runs the checker (soak.check) on it.
The history stays in artifacts/soak/<seed>-<time>/ for `python -m soak.check` to read again.
Needs root (network namespaces), nftables, faketime and socat."""
import argparse
import random
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import MySQLdb

from stack import ROOT, wait_for

from . import check
from .cluster import BLUESKY_USER, HOOK_USER, NODES, USERS, SoakCluster
from .history import History
from .nemesis import Nemesis, plan
from .workload import Client, Operator

CLIENTS_OPS_PER_SECOND = 1.2  # each of 4 clients: about 300 operations a minute in all


def snapshot(cluster) -> dict:
    """The database as the run left it, by plain SQL."""
    def rows(sql):
        with MySQLdb.connect(db=cluster.database, **cluster.mysql) as conn:
            cursor = conn.cursor()
            cursor.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    return {
        "db_now": rows("SELECT UTC_TIMESTAMP(6) AS now")[0]["now"],
        "scheduled_posts": rows(
            "SELECT s.id, u.username AS author, s.text, s.status, s.publish_at, s.due_at, s.published_at, s.lateness_ms, "
            "s.series_id, s.queued, s.version, s.attempts, s.last_error, s.created_at, s.updated_at "
            "FROM scheduling_scheduledpost s JOIN auth_user u ON u.id = s.author_id"),
        "posts": rows(
            "SELECT p.id, u.username AS author, p.text, p.published_at, p.scheduled_post_id, p.scheduled_for, n.name AS node "
            "FROM feed_post p JOIN auth_user u ON u.id = p.author_id LEFT JOIN dispatchers_dispatchernode n ON n.id = p.dispatcher_id"),
        "series": rows("SELECT id, active FROM scheduling_series"),
        "deliveries": rows(
            "SELECT d.id, d.scheduled_post_id, d.`key`, d.state, d.attempts, d.error, d.remote_id, t.kind, p.text "
            "FROM destinations_delivery d JOIN destinations_destination t ON t.id = d.destination_id "
            "JOIN feed_post p ON p.id = d.post_id"),
        # What the receiver got: (webhook-id, post, applied|repeat|bad|refused) per request.
        "receiver": [list(line) for line in cluster.receiver.lines()],
        # What the PDS holds: every record of the Bluesky account (uri, text), read by listRecords.
        "bluesky": [{"uri": record["uri"], "text": record["value"].get("text")}
                    for record in cluster.pds.list_records(cluster.bluesky_did)],
    }


def clock_offset(cluster) -> float:
    """This machine's clock minus the database's, in seconds (the clients' times are on it)."""
    before = time.time()
    (now,) = cluster.query("SELECT UTC_TIMESTAMP(6)")[0]
    after = time.time()
    return (before + after) / 2 - now.replace(tzinfo=timezone.utc).timestamp()


def settle(cluster, *, until: float, timeout: float):
    """Waits until `until` (epoch) has passed, no post due by then is pending or publishing,
    and no delivery is on its way."""
    def settled():
        if time.time() < until:
            return False
        (active,) = cluster.query(
            "SELECT COUNT(*) FROM scheduling_scheduledpost WHERE status IN ('pending', 'publishing') "
            "AND publish_at <= UTC_TIMESTAMP(6) - INTERVAL 1 SECOND")[0]
        (sending,) = cluster.query(
            "SELECT COUNT(*) FROM destinations_delivery WHERE state IN ('pending', 'sending', 'unconfirmed')")[0]
        return active == 0 and sending == 0
    try:
        wait_for(settled, timeout, interval=1, what="every due post settled")
    except AssertionError as error:
        print(f"soak: {error}; the checker will name what is left", flush=True)


def progress(cluster, history, *, started: float, seconds: float, every: float = 60.0) -> None:
    """Until the workload's time is up, a line a minute: how far, what was sent, what was published."""
    while (left := started + seconds - time.monotonic()) > 0:
        time.sleep(min(every, left))
        try:
            (published,) = cluster.query("SELECT COUNT(*) FROM feed_post WHERE scheduled_post_id IS NOT NULL")[0]
        except Exception as error:  # the database may be the fault of the moment
            published = f"? ({error.__class__.__name__})"
        print(f"soak: {(time.monotonic() - started) / 60:.0f}/{seconds / 60:.0f} min; {history.counts['ops']} requests, "
              f"{history.counts['faults']} fault records, {published} scheduled posts published", flush=True)


def soak(*, minutes: float, seed: int, out: Path | None = None) -> int:
    seconds = minutes * 60
    max_ahead = min(180.0, max(20.0, seconds / 3))
    out = out or ROOT / "artifacts" / "soak" / f"{seed}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
    history = History(out)
    faults = plan(seed=seed, seconds=seconds)
    print(f"soak: seed {seed}, {minutes} min, {len(faults)} faults planned; history in {out}", flush=True)
    cluster = SoakCluster()
    try:
        cluster.start()
        history.write("meta.json", {
            "seed": seed, "minutes": minutes, "max_ahead": max_ahead, "clock_offset": clock_offset(cluster),
            "plan": [fault.__dict__ for fault in faults], "logs": str(cluster.logs),
        })
        stop = threading.Event()
        # Destinations besides the feed: alice's posts go to the webhook receiver, bob's to Bluesky.
        chosen = {HOOK_USER: (cluster.destination,), BLUESKY_USER: (cluster.bluesky_destination,)}
        clients = [
            Client(name=user, url=cluster.url, history=history, rng=random.Random(f"{seed}-{user}"), max_ahead=max_ahead, stop=stop,
                   destinations=chosen.get(user, ()))
            for user in USERS
        ]
        operator = Operator(cluster=cluster, history=history, rng=random.Random(f"{seed}-operator"), stop=stop)
        threads = [threading.Thread(target=client.run, kwargs={"ops_per_second": CLIENTS_OPS_PER_SECOND}, daemon=True) for client in clients]
        threads.append(threading.Thread(target=operator.run, daemon=True))
        nemesis = Nemesis(cluster, history, faults)
        supervising = threading.Event()
        supervisor = threading.Thread(target=cluster.supervise, args=(history, supervising), daemon=True)
        started = time.monotonic()
        nemesis.start(started)
        supervisor.start()
        for thread in threads:
            thread.start()
        progress(cluster, history, started=started, seconds=seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        print("soak: workload stopped; waiting for the last faults to end", flush=True)
        nemesis.join()
        supervising.set()
        supervisor.join()
        restarted = cluster.ensure_running()
        if restarted:
            print(f"soak: not running at the end, started again: {', '.join(restarted)}", flush=True)
        operator.activate_all()
        for node in NODES:
            cluster.wait_node_ticking(node, timeout=120)
        settle(cluster, until=time.time() + max_ahead + 5, timeout=max_ahead + 300)
        history.write("db.json", snapshot(cluster))
        history.write("end.json", {"not_running_at_end": restarted})
    except KeyboardInterrupt:
        print("soak: interrupted; stopping every process and removing the test hosts", flush=True)
        raise
    finally:
        history.close()
        cluster.stop()
    report = check.check(out)
    print(report.text(), flush=True)
    print(f"soak: seed {seed}; replay with SEED={seed}; history in {out}", flush=True)
    return 0 if report.ok else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--seed", type=int, default=None, help="replays the faults of an earlier run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    # Stopped by a signal (Ctrl-C, kill, a CI's timeout): the clean-up still runs.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(soak(minutes=args.minutes, seed=seed, out=args.out))


if __name__ == "__main__":
    main()
