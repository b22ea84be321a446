"""Deliveries with real processes: nodes send webhooks to a real receiver (stack/receiver.py,
which checks every signature with standardwebhooks and applies each webhook-id once) while
it fails on purpose. Each scenario ends by counting at the receiver: every post applied
exactly once, under one webhook-id, no signature failed; repeats of an id are counted."""
import signal
import time
from collections import defaultdict

import pytest

from stack import wait_for
from stack.receiver import ReceiverProcess

pytestmark = pytest.mark.integration

# Retries seconds apart instead of minutes and hours; sends that give up quickly.
FAST_DELIVERIES = {
    "PSCHED_WEBHOOK_ALLOW_PRIVATE": "1",
    "PSCHED_WEBHOOK_RETRY_SCHEDULE": ",".join(["0", "0.5"] + ["1"] * 40),
    "PSCHED_WEBHOOK_CONNECT_TIMEOUT": "1",
    "PSCHED_WEBHOOK_TOTAL_TIMEOUT": "3",
    "PSCHED_DELIVERY_LEASE_SECONDS": "10",
}


def webhook_stack(stack_factory):
    stack = stack_factory(env=dict(FAST_DELIVERIES)).start()
    receiver = ReceiverProcess(stack)  # its port, for the destination's URL; started with the secret
    status, body = stack.request("POST", "/api/destinations/", {"name": "hook", "kind": "webhook", "url": receiver.url})
    assert status == 201, body
    receiver.secret = body["secret"]
    return stack, receiver.start(), body["id"]


def schedule_with(stack, destination: int, label: str, *, count: int, start: float, seconds: float) -> list[int]:
    from stack import at

    step = seconds / count
    items = [{"text": f"{label} {i}", "publish_at": at(start + i * step), "destinations": [destination]} for i in range(count)]
    return [post["id"] for post in stack.schedule(items)]


def wait_delivered(stack, count: int, timeout: float = 120):
    def done():
        states = dict(stack.query("SELECT state, COUNT(*) FROM destinations_delivery GROUP BY state"))
        return states.get("delivered", 0) >= count and len(states) == 1
    try:
        wait_for(done, timeout, interval=0.5, what=f"{count} deliveries delivered")
    except AssertionError as error:
        states = stack.query("SELECT state, COUNT(*) FROM destinations_delivery GROUP BY state")
        raise AssertionError(f"{error}; deliveries now {states}; logs in {stack.logs}") from None


def assert_each_applied_once(stack, receiver, ids) -> int:
    """Every post applied once at the receiver under the one webhook-id of its delivery; returns
    how many requests repeated an id already applied."""
    keys = dict(stack.query("SELECT scheduled_post_id, `key` FROM destinations_delivery"))
    assert sorted(keys) == sorted(ids), "one delivery per post"
    lines = receiver.lines()
    assert not [line for line in lines if line[2] == "bad"], "a signature failed"
    applied = defaultdict(list)
    ids_by_post = defaultdict(set)
    for webhook_id, post, what in lines:
        ids_by_post[post].add(webhook_id)
        if what == "applied":
            applied[webhook_id].append(post)
    assert all(len(found) == 1 for found in ids_by_post.values()), "a post came with two webhook-ids"
    missing = [pk for pk, key in keys.items() if key not in applied]
    assert not missing, f"{len(missing)} posts never reached the receiver, e.g. {missing[:5]}"
    assert all(len(posts) == 1 for posts in applied.values())
    return sum(1 for line in lines if line[2] == "repeat")


def test_every_webhook_is_applied_once_through_500s_lost_answers_429s_and_a_receiver_down_for_20_s(stack_factory):
    stack, receiver, destination = webhook_stack(stack_factory)
    ids = schedule_with(stack, destination, "faults", count=300, start=3, seconds=14)
    wait_for(lambda: receiver.lines(), 60, interval=0.1, what="first webhooks")
    receiver.control(mode="500")
    time.sleep(2)
    receiver.control(mode="drop")  # applied, then the connection closes: psched cannot know
    time.sleep(2)
    receiver.control(mode="429", retry_after=1)
    time.sleep(2)
    receiver.kill()  # down for 20 s: every try in between fails to connect, and is retried
    time.sleep(20)
    receiver.start()
    stack.wait_settled(len(ids), timeout=120)
    wait_delivered(stack, len(ids))
    repeats = assert_each_applied_once(stack, receiver, ids)
    states = {line[2] for line in receiver.lines()}
    assert {"refused", "applied"} <= states
    print(f"{len(ids)} posts, each applied once; {repeats} repeated webhook-ids acknowledged without applying")


def test_a_node_killed_mid_send_leaves_each_webhook_applied_once(stack_factory):
    stack, receiver, destination = webhook_stack(stack_factory)
    receiver.control(mode="slow", seconds=1.5)
    ids = schedule_with(stack, destination, "sigkill", count=100, start=3, seconds=3)
    wait_for(
        lambda: stack.query("SELECT COUNT(*) FROM destinations_delivery WHERE state = 'sending' AND claimed_by = 'a'")[0][0]
        # More than one node's threads (PSCHED_DELIVERY_THREADS, 8): some of them are a's.
        and receiver.state()["in_flight"] > 8,
        60, interval=0.05, what="node a sending, and its requests at the receiver",
    )
    stack.kill("node-a", signal.SIGKILL)
    receiver.control(mode="ok")
    stack.wait_settled(len(ids), timeout=120)
    wait_delivered(stack, len(ids))
    repeats = assert_each_applied_once(stack, receiver, ids)
    assert repeats, "node a's requests in flight were applied, then sent again by b with the same ids"
    print(f"node a killed mid-send; {repeats} repeated webhook-ids acknowledged without applying")
