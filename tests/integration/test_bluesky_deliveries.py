"""Bluesky deliveries with real processes: nodes write 500 posts to a real PDS (stack.pds) while
it is SIGKILLed and started again, while a proxy in front of it forwards writes and drops their
answers, while a node is SIGKILLed mid-write, and while the app password is revoked (and then
replaced by its owner). The proof is read from the PDS itself: listRecords holds exactly one
record per post, under the record key its delivery fixed before the first try, with its text."""
import signal
import time
from collections import Counter

import pytest

from stack import FaultProxy, at, wait_for
from stack.pds import LocalPds

pytestmark = pytest.mark.integration

POSTS = 500
# Retries a second apart for a few minutes (a PDS restart takes seconds to tens of seconds on
# a loaded machine); tokens refreshed every 2 s, so a revoked password is noticed at once.
FAST_BLUESKY = {
    "PSCHED_WEBHOOK_ALLOW_PRIVATE": "1",
    "PSCHED_WEBHOOK_RETRY_SCHEDULE": ",".join(["0", "0.5"] + ["1"] * 240),
    "PSCHED_WEBHOOK_RETRY_JITTER": "0",
    "PSCHED_WEBHOOK_TOTAL_TIMEOUT": "5",
    "PSCHED_DELIVERY_LEASE_SECONDS": "8",
    "PSCHED_BLUESKY_TOKEN_SECONDS": "2",
}
HANDLE, PASSWORD = "scheduler.test", "account-password-1"


def deliveries(stack) -> dict:
    return dict(stack.query("SELECT state, COUNT(*) FROM destinations_delivery GROUP BY state"))


def destination_state(stack, pk: int) -> str:
    return stack.query("SELECT state FROM destinations_destination WHERE id = %s", (pk,))[0][0]


def test_500_posts_reach_bluesky_once_each_through_pds_kills_lost_answers_a_node_kill_and_a_revoked_password(
    stack_factory, tmp_path,
):
    pds = LocalPds(tmp_path / "pds", log=tmp_path / "pds.log").start()
    proxy = FaultProxy(pds.port)
    try:
        did = pds.create_account(HANDLE, PASSWORD)
        app_password = pds.create_app_password(HANDLE, PASSWORD, "psched")
        stack = stack_factory(env=dict(FAST_BLUESKY)).start()
        status, body = stack.request("POST", "/api/destinations/", {
            "name": "sky", "kind": "bluesky", "pds_url": f"http://127.0.0.1:{proxy.port}", "handle": HANDLE,
            "app_password": app_password,
        })
        assert status == 201, body
        destination = body["id"]
        # The posts come in waves, each scheduled when its phase begins, so that every fault
        # meets writes still to be made however fast or slow the nodes are: a run on a loaded
        # machine, whose delivered count lagged behind the PDS, had written nearly every post
        # before the drops began, and the rest were read back (GET), not written.
        ids = []

        def wave(count: int, seconds: float) -> None:
            first = len(ids)
            items = [{"text": f"bluesky {first + i}", "publish_at": at(5 + i * seconds / count), "destinations": [destination]}
                     for i in range(count)]
            ids.extend(post["id"] for post in stack.schedule(items))

        # 1. The PDS SIGKILLed mid-burst and started again on its data directory.
        wave(200, 30)
        wait_for(lambda: deliveries(stack).get("delivered", 0) >= 40, 120, interval=0.1, what="first deliveries")
        pds.restart(signal.SIGKILL)

        # 2. Writes forwarded and their answers dropped: every third one, for 30 of them; the
        # wave's 150 first tries are POSTs through the proxy, so 30 drops are always there to see.
        wait_for(lambda: deliveries(stack).get("delivered", 0) >= 100, 120, interval=0.1, what="deliveries after the restart")
        proxy.drop_every, proxy.mode = 3, "drop"
        wave(150, 15)
        wait_for(lambda: proxy.dropped >= 30, 120, interval=0.1, what="30 answers dropped")
        proxy.mode = "forward"

        # Due over half a minute, for the node kill and the revoked password.
        wave(POSTS - len(ids), 30)
        # 3. Node a SIGKILLed while it writes.
        wait_for(
            lambda: stack.query(
                "SELECT COUNT(*) FROM destinations_delivery WHERE state = 'sending' AND claimed_by = 'a'")[0][0],
            120, interval=0.02, what="node a writing",
        )
        stack.kill("node-a", signal.SIGKILL)

        # 4. The app password revoked: the destination needs its owner, who gives a new one.
        pds.revoke_app_password(HANDLE, PASSWORD, "psched")
        wait_for(lambda: destination_state(stack, destination) == "needs_attention", 60, interval=0.1,
                 what="the destination needing attention")
        waiting = deliveries(stack)
        new_password = pds.create_app_password(HANDLE, PASSWORD, "psched-2")
        status, body = stack.request("PATCH", f"/api/destinations/{destination}/", {"app_password": new_password})
        assert status == 200 and body["state"] == "active", body

        stack.wait_settled(len(ids), timeout=180)
        try:
            wait_for(lambda: deliveries(stack) == {"delivered": POSTS}, 300, interval=0.5, what="every delivery delivered")
        except AssertionError as error:
            raise AssertionError(f"{error}; deliveries now {deliveries(stack)}; logs in {stack.logs}") from None

        records = pds.list_records(did)
        texts = Counter(record["value"]["text"] for record in records)
        assert not [text for text, count in texts.items() if count > 1], "a post written twice"
        assert set(texts) == {f"bluesky {i}" for i in range(POSTS)}, "a post missing, or one with other text"
        assert len(records) == POSTS
        # Each under the key its delivery fixed before the first try.
        fixed = dict(stack.query("SELECT remote_id, p.text FROM destinations_delivery d JOIN feed_post p ON p.id = d.post_id"))
        assert {record["uri"]: record["value"]["text"] for record in records} == fixed
        tries = stack.query("SELECT SUM(attempts) FROM destinations_delivery")[0][0]
        print(f"{POSTS} posts, one record each; {tries} tries, {proxy.dropped} answers dropped; "
              f"waiting while the password was revoked: {waiting}")
    finally:
        proxy.close()
        pds.stop()
