"""The scheduling pipeline with real processes: gunicorn, two run_dispatcher workers and beat,
on MariaDB and Redis. Each test ends by counting: every post published exactly once (or
cancelled as asked), none lost, none twice."""
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from stack import at, wait_for

pytestmark = pytest.mark.integration


def test_it_publishes_500_posts_exactly_once(stack_factory):
    stack = stack_factory().start()
    created = stack.schedule([{"text": f"steady {i}", "publish_at": at(4 + i * 0.012)} for i in range(500)])
    stack.wait_settled(500, timeout=90)
    stack.assert_each_published_once([post["id"] for post in created])
    assert stack.status_counts() == {"published": 500}
    per_node = stack.published_per_node()
    assert set(per_node) == {"a", "b"}, per_node  # both nodes took a share
    (late_max,) = stack.query("SELECT MAX(lateness_ms) FROM scheduling_scheduledpost")[0]
    print(f"max lateness {late_max} ms, per node {per_node}")


def test_a_cancel_and_an_edit_one_second_before_the_due_time_win(stack_factory):
    stack = stack_factory().start()
    due = datetime.now(timezone.utc) + timedelta(seconds=8)
    created = stack.schedule([{"text": f"race {i}", "publish_at": due.isoformat()} for i in range(40)])
    cancel, edit, keep = created[:15], created[15:30], created[30:]
    changes = [("DELETE", post, None, 204) for post in cancel] + [
        ("PATCH", post, {"text": f"edited {post['id']}"}, 200) for post in edit
    ]
    wait_for(lambda: datetime.now(timezone.utc) >= due - timedelta(seconds=1), 20, interval=0.01)
    # All at once, as 30 people would: one after another, the last ones could land after
    # the due time on a busy machine, and a 409 there would be right.
    with ThreadPoolExecutor(max_workers=len(changes)) as pool:
        answers = list(pool.map(
            lambda change: stack.request(change[0], f"/api/scheduled-posts/{change[1]['id']}/", change[2]), changes
        ))
    assert datetime.now(timezone.utc) < due, "the changes took longer than a second; the scenario proves nothing"
    for (_, _, _, expected), (status, body) in zip(changes, answers):
        assert status == expected, (status, body)
    stack.wait_settled(25, timeout=60)
    texts = {pk: text for pk, text in stack.query("SELECT scheduled_post_id, text FROM feed_post")}
    assert not [p for p in cancel if p["id"] in texts], "a cancelled post was published"
    assert all(texts.get(p["id"]) == f"edited {p['id']}" for p in edit), "an edit lost to the old text"
    assert all(texts.get(p["id"]) == p["text"] for p in keep)
    assert stack.status_counts() == {"cancelled": 15, "published": 25}
    (posts,) = stack.query("SELECT COUNT(*) FROM feed_post")[0]
    assert posts == 25


def test_a_node_killed_mid_batch_loses_and_duplicates_nothing(stack_factory):
    stack = stack_factory().start()
    created = stack.schedule([{"text": f"kill {i}", "publish_at": at(5 + i * 0.02)} for i in range(600)])
    # Kill node a while it holds claimed posts that it has not published yet.
    wait_for(lambda: stack.query(
        "SELECT COUNT(*) FROM scheduling_scheduledpost s JOIN dispatchers_dispatchernode n ON n.id = s.dispatcher_id "
        "WHERE n.name = 'a' AND s.status = 'publishing'")[0][0] > 0, 30, interval=0.05, what="node a holding claims")
    stack.kill("node-a", signal.SIGKILL)
    held = stack.query("SELECT COUNT(*) FROM scheduling_scheduledpost WHERE status = 'publishing'")[0][0]
    time.sleep(15)
    stack.start_node("a")  # restarted later: it takes its share again
    stack.wait_settled(600, timeout=120)
    stack.assert_each_published_once([post["id"] for post in created])
    assert stack.status_counts() == {"published": 600}
    print(f"killed node a holding {held} claims")


def test_a_web_server_answering_503_delays_posts_but_loses_none(stack_factory):
    stack = stack_factory().start()
    created = stack.schedule([{"text": f"outage {i}", "publish_at": at(5 + i * 0.03)} for i in range(300)])
    wait_for(lambda: datetime.now(timezone.utc) >= datetime.fromisoformat(created[0]["publish_at"].replace("Z", "+00:00"))
             - timedelta(seconds=1.5), 20, interval=0.05)
    stack.proxy.mode = "503"
    time.sleep(20)
    stack.proxy.mode = "forward"
    stack.wait_settled(300, timeout=120)
    assert stack.proxy.seen["503"] > 0
    stack.assert_each_published_once([post["id"] for post in created])
    assert stack.status_counts() == {"published": 300}
    (retried,) = stack.query("SELECT COUNT(*) FROM scheduling_scheduledpost WHERE attempts > 1")[0]
    assert retried > 0
