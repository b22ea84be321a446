"""Lateness under faults: no post waits out its claim's lease (30 s) while a live worker could
publish it, nor beat's absence while its node could tick. A worker that dies while its node
lives on in another, a claim whose COMMIT's answer is lost, beat gone and the broker down each
delay their posts by seconds."""
import json
import signal
import urllib.request
from datetime import timedelta

import pytest

from stack import MYSQL, wait_for
from stack.sqlproxy import SqlProxy

pytestmark = pytest.mark.integration

LEASE = {"PSCHED_LEASE_SECONDS": "30"}  # the default: the lease must not be what saves the posts


def max_lateness_ms(stack) -> int:
    return stack.query("SELECT MAX(lateness_ms) FROM scheduling_scheduledpost")[0][0]


def test_a_worker_killed_while_its_node_lives_on_delays_its_posts_by_seconds(stack_factory):
    stack = stack_factory(env=LEASE).start(nodes=("a",))
    stack.start_node("a", process="node-a-2")  # the node lives on in this worker
    wait_for(lambda: " ready." in stack.log_text("node-a-2"), 90, what="the second worker of a ready")
    ids = stack.schedule_spread("worker", start=8, seconds=15, count=300)
    wait_for(lambda: stack.query(
        "SELECT COUNT(*) FROM scheduling_scheduledpost s JOIN dispatchers_dispatcherworker w "
        "ON s.claim_token LIKE CONCAT(w.claim_prefix, '%%') WHERE s.status = 'publishing' "
        "AND w.process LIKE CONCAT('%%pid ', %s)", (stack.processes["node-a"].pid,))[0][0] > 0,
        40, interval=0.02, what="the first worker of a holding claims")
    stack.kill("node-a", signal.SIGKILL)
    stack.wait_settled(len(ids), timeout=120)
    stack.assert_each_published_once(ids)
    assert max_lateness_ms(stack) < 10_000
    assert "is gone (no heartbeat" in stack.log_text("node-a-2")


def test_a_claim_whose_commit_answer_is_lost_is_published_by_its_token_not_after_its_lease(stack_factory):
    proxy = SqlProxy(MYSQL["port"])  # every process reaches MariaDB through it
    try:
        stack = stack_factory(env=LEASE, mysql_port=proxy.port).start(nodes=("a",))
        ids = stack.schedule_spread("commit", start=8, seconds=10, count=200)
        proxy.lose_commit_answer_after(b"THEN attempts + 1")  # the claim's UPDATE
        wait_for(lambda: proxy.dropped, 40, what="a claim's COMMIT answer lost")
        stack.wait_settled(len(ids), timeout=120)
        stack.assert_each_published_once(ids)
        assert max_lateness_ms(stack) < 10_000
        assert "posts found by its token" in stack.log_text("node-a")
    finally:
        proxy.close()


def test_beat_killed_for_good_leaves_the_nodes_ticking_by_themselves(stack_factory):
    stack = stack_factory(env=LEASE).start(nodes=("a", "b"))
    stack.kill("beat", signal.SIGKILL)
    # Every post falls due after beat is gone, and beat never comes back.
    ids = stack.schedule_spread("nobeat", start=6, seconds=10, count=300)
    stack.wait_settled(len(ids), timeout=90)
    stack.assert_each_published_once(ids)
    assert max_lateness_ms(stack) < 5_000
    for node in ("a", "b"):
        assert "ticking by itself" in stack.log_text(f"node-{node}")
    # The nodes' own ticks keep last_seen fresh: /healthz still tells that beat is gone.
    health = json.loads(urllib.request.urlopen(f"{stack.url}/healthz", timeout=10).read())
    assert any(warning.startswith("beat:") for warning in health.get("warnings", [])), health


def test_redis_down_while_posts_fall_due_delays_them_by_seconds_not_its_outage(stack_factory):
    stack = stack_factory(env=LEASE).start(nodes=("a", "b"))
    ids = stack.schedule_spread("redisdown", start=6, seconds=12, count=300)
    first_due, last_due = stack.due_range(ids)
    stack.kill("redis", signal.SIGKILL)
    # Down until every post has fallen due: no tick can travel from beat meanwhile.
    wait_for(lambda: stack.db_now() >= last_due + timedelta(seconds=1), 60, interval=0.2, what="every post due")
    stack.start_redis()
    stack.wait_settled(len(ids), timeout=90)
    stack.assert_each_published_once(ids)
    assert max_lateness_ms(stack) < 5_000
