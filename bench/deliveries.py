"""Webhook deliveries: how fast the nodes send them to a local receiver (stack/receiver.py, a
process of its own that checks every signature), beside that receiver's own ceiling measured
in the same run (a plain client posting signed requests to it as fast as it can), and the
delivery lateness after publishing (delivered_at − published_at) in a burst and at a steady
rate. Runs from bench/run.py, on its stack (PSCHED_WEBHOOK_ALLOW_PRIVATE=1 there)."""
import http.client
import json
import threading
import time
from datetime import datetime, timedelta, timezone

from standardwebhooks import Webhook

from psched.lib.stats import percentile
from stack import wait_for
from stack.receiver import ReceiverProcess


def receiver_ceiling(receiver: ReceiverProcess, *, seconds: float, clients: int = 8) -> float:
    """Signed requests per second the receiver answers, from `clients` threads on kept-alive
    connections, each a webhook it has not seen."""
    signer = Webhook(receiver.secret)
    stop_at = time.monotonic() + seconds
    counts = [0] * clients

    def client(index: int):
        connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=30)
        sent = 0
        while time.monotonic() < stop_at:
            webhook_id = f"msg_ceiling_{index}_{sent}"
            body = json.dumps({"type": "post.published", "timestamp": "2026-01-01T00:00:00Z", "data": {"post": 0}})
            now = datetime.now(timezone.utc)
            connection.request("POST", "/hook", body=body, headers={
                "Content-Type": "application/json", "webhook-id": webhook_id,
                "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signer.sign(webhook_id, now, body),
            })
            connection.getresponse().read()
            sent += 1
        counts[index] = sent
        connection.close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def _delivered_figures(stack, prefix: str) -> dict:
    rows = stack.query(
        "SELECT d.lateness_ms, d.delivered_at, d.attempts, "
        "TIMESTAMPDIFF(MICROSECOND, p.published_at, d.first_try_at) DIV 1000 FROM destinations_delivery d "
        "JOIN feed_post p ON p.id = d.post_id WHERE p.text LIKE %s AND d.state = 'delivered'", (prefix + " %",))
    late = [row[0] for row in rows]
    # Where the lateness goes: published → claimed (first_try_at), then claimed → delivered.
    claimed = [row[3] for row in rows if row[3] is not None]
    sent = [row[0] - row[3] for row in rows if row[3] is not None]
    return {
        "delivered": len(rows),
        "lateness_p50_ms": percentile(late, 0.5), "lateness_p99_ms": percentile(late, 0.99),
        "lateness_max_ms": max(late) if late else None,
        "claimed_after_p50_ms": percentile(claimed, 0.5), "claimed_after_p99_ms": percentile(claimed, 0.99),
        "sent_after_claim_p50_ms": percentile(sent, 0.5), "sent_after_claim_p99_ms": percentile(sent, 0.99),
        "resent": sum(1 for row in rows if row[2] > 1),
        "last_delivered_at": max((row[1] for row in rows), default=None),
    }


def _wait_delivered(stack, prefix: str, count: int, timeout: float, progress) -> bool:
    def done():
        (delivered,) = stack.query(
            "SELECT COUNT(*) FROM destinations_delivery d JOIN feed_post p ON p.id = d.post_id "
            "WHERE p.text LIKE %s AND d.state = 'delivered'", (prefix + " %",))[0]
        progress(f"  delivered {delivered:,}/{count:,}")
        return delivered >= count
    try:
        wait_for(done, timeout, interval=1.0, what=f"{count} deliveries")
        return True
    except AssertionError:
        return False


def deliveries(stack, author_id: int, *, burst: int, steady: tuple[int, float], ceiling_seconds: float,
               create_scheduled, progress) -> dict:
    """The destination is the author's default for the scenario's posts only (made default
    here, removed at the end), so the other scenarios publish without deliveries."""
    receiver = ReceiverProcess(stack)
    status, body = stack.request("POST", "/api/destinations/", {
        "name": "bench receiver", "kind": "webhook", "url": receiver.url, "is_default": True})
    assert status == 201, body
    receiver.secret = body["secret"]
    receiver.start()
    try:
        progress(f"deliveries: the receiver's ceiling ({ceiling_seconds:.0f} s of signed requests from 8 clients)")
        ceiling = receiver_ceiling(receiver, seconds=ceiling_seconds)
        progress(f"  {ceiling:.0f} requests/s")
        time.sleep(1.5)  # the web processes' default sets (read at most once a second) include it

        progress(f"deliveries: a burst of {burst:,} posts due at once, each with a webhook")
        at = datetime.now(timezone.utc) + timedelta(seconds=max(15, burst / 4000))
        create_scheduled(author_id, [at] * burst, "delivery-burst")
        ok = _wait_delivered(stack, "delivery-burst", burst, (at - datetime.now(timezone.utc)).total_seconds() + 600, progress)
        figures = _delivered_figures(stack, "delivery-burst")
        (first_published,) = stack.query(
            "SELECT MIN(published_at) FROM scheduling_scheduledpost WHERE text LIKE 'delivery-burst %%'")[0]
        seconds = (figures.pop("last_delivered_at") - first_published).total_seconds() if figures["delivered"] else None
        per_second = round(figures["delivered"] / seconds) if seconds else None
        burst_result = {
            "posts": burst, "completed": ok, **figures,
            "deliveries_per_second": per_second,
            "receiver_ceiling_per_second": round(ceiling),
            "ratio_of_ceiling": round(per_second / ceiling, 2) if per_second else None,
        }

        count, seconds = steady
        progress(f"deliveries: {count:,} posts due evenly over {seconds:.0f} s ({count / seconds:.0f}/s), each with a webhook")
        first = datetime.now(timezone.utc) + timedelta(seconds=8)
        create_scheduled(author_id, [first + timedelta(seconds=seconds * i / count) for i in range(count)], "delivery-steady")
        ok = _wait_delivered(stack, "delivery-steady", count, seconds + 120, progress)
        figures = _delivered_figures(stack, "delivery-steady")
        figures.pop("last_delivered_at")
        steady_result = {"posts": count, "over_seconds": seconds, "completed": ok, **figures}
        signatures_failed = sum(1 for line in receiver.lines() if line[2] == "bad")
    finally:
        stack.request("DELETE", f"/api/destinations/{body['id']}/")
        receiver.kill()
    return {"burst": burst_result, "steady": steady_result, "signatures_failed": signatures_failed}
