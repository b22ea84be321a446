"""A tick's batches in flight are finished as they answer, whichever answers first: one slow
callback (a lossy web server) holds back neither the results of the batches sent after it
nor, with SEND_PARALLEL in flight, the next sends."""
import threading
import time
from concurrent.futures import Future
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from dispatchers import tick
from dispatchers.models import DispatcherNode
from dispatchers.services import node_credential_issue, node_register
from dispatchers.tick import run_tick
from feed.models import Post
from scheduling.models import ScheduledPost
from scheduling.rules import ScheduleInput
from scheduling.services import scheduled_posts_create
from psched.lib.timeparse import ParsedTime


def in_flight_batch(name, finished):
    answer = Future()

    def finish():
        answer.result()
        finished.append(name)

    finish.answer = answer
    return finish


def test_the_batch_that_answers_first_is_finished_first():
    finished = []
    slow, fast = in_flight_batch("slow", finished), in_flight_batch("fast", finished)
    in_flight = [slow, fast]
    fast.answer.set_result(None)
    started = time.monotonic()
    left = tick._finish_answered(in_flight, 0.3)
    assert finished == ["fast"] and in_flight == [slow]
    assert left == 0.0 and 0.25 < time.monotonic() - started < 2  # then waited out the rest for the slow one
    slow.answer.set_result(None)
    assert tick._finish_answered(in_flight, 5) > 4
    assert finished == ["fast", "slow"] and in_flight == []


def test_without_a_limit_it_returns_once_one_is_finished():
    finished = []
    batches = [in_flight_batch(name, finished) for name in ("first", "second", "third")]
    in_flight = list(batches)
    threading.Timer(0.1, lambda: batches[2].answer.set_result(None)).start()
    tick._finish_answered(in_flight, None)
    assert finished == ["third"] and in_flight == batches[:2]


@pytest.fixture
def ticking_node(live_server, settings):
    settings.PSCHED_API_URL = live_server.url
    settings.PSCHED_CALLBACK_HEDGE_MS = 0  # the first attempt alone: what is tested is the tick
    node, _ = node_register(name="ticker")
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now() - timedelta(seconds=1))
    return node, node_credential_issue(node=node)


def make_due(author, count, seconds=0.3):
    when = timezone.now() + timedelta(seconds=seconds)
    return scheduled_posts_create(author=author, inputs=[
        ScheduleInput(text=f"in flight {i}", when=ParsedTime(when, "UTC")) for i in range(count)
    ])


@pytest.mark.django_db(transaction=True)
def test_a_hung_first_batch_holds_back_neither_the_next_sends_nor_their_results(ticking_node, django_user_model,
                                                                                monkeypatch, settings):
    """Ten batches of one post, due together; the first callback hangs until the tenth is
    sent. Oldest first, the ninth send waited for the first answer (eight in flight)."""
    node, credential = ticking_node
    settings.PSCHED_BATCH_SIZE = 1
    make_due(django_user_model.objects.create_user("in-flight"), tick.SEND_PARALLEL + 2)
    real = tick.publish_callback
    calls, last_sent, waited = [], threading.Event(), []
    lock = threading.Lock()

    def callback(**kwargs):
        with lock:
            calls.append(kwargs["claims"])
            number = len(calls)
        if number == 1:
            waited.append(last_sent.wait(10))
        elif number == tick.SEND_PARALLEL + 2:
            last_sent.set()
        return real(**kwargs)

    monkeypatch.setattr(tick, "publish_callback", callback)
    started = time.monotonic()
    report = run_tick(node_name=node.name, credential=credential)
    assert waited == [True], "the last batches were sent only once the hung first one answered"
    assert (report.claimed, report.published, report.failed) == (10, 10, 0)
    assert Post.objects.count() == 10
    assert time.monotonic() - started < 8


@pytest.mark.django_db(transaction=True)
def test_a_later_batch_that_fails_is_recorded_while_the_first_still_hangs(ticking_node, django_user_model,
                                                                          monkeypatch, settings):
    """Its claims are released for the retry at once, not when the first batch answers."""
    node, credential = ticking_node
    settings.PSCHED_BATCH_SIZE = 1
    make_due(django_user_model.objects.create_user("in-flight-fails"), 2)
    real = tick.publish_callback
    calls, seen = [], []
    lock = threading.Lock()

    def failure_recorded():
        return ScheduledPost.objects.filter(status="pending", attempts=1).exists()

    def callback(**kwargs):
        with lock:
            calls.append(kwargs["claims"])
            number = len(calls)
        if number == 1:
            deadline = time.monotonic() + 10
            while not failure_recorded() and time.monotonic() < deadline:
                time.sleep(0.02)
            seen.append(failure_recorded())
            return real(**kwargs)
        raise requests.HTTPError("POST /api/posts/ answered 503")

    monkeypatch.setattr(tick, "publish_callback", callback)
    report = run_tick(node_name=node.name, credential=credential)
    assert seen == [True], "the failure was recorded only once the hung first batch answered"
    assert (report.claimed, report.published, report.failed) == (2, 1, 1)
    statuses = dict(ScheduledPost.objects.values_list("pk", "status"))
    assert sorted(statuses.values()) == ["pending", "published"]
