"""The hedged callback (dispatchers.tick.callback_hedged): a batch whose callback has not
answered after a short while is sent again on a new connection, and the first answer wins.
Sending a batch twice must never publish a post twice: the callback's claim check does that."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from dispatchers import tick
from dispatchers.models import DispatcherNode
from dispatchers.services import claim_due_posts
from dispatchers.tick import HedgeBudget, callback_hedged, publish_callback, run_tick
from feed.models import Post
from psched.lib.db import db_now
from scheduling.models import ScheduledPost
from stack import wait_for


@pytest.fixture
def live_node(node, live_server, settings):
    """The node, calling back into the live server, ticked a tick ago (so its next tick runs)."""
    settings.PSCHED_API_URL = live_server.url
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now() - timedelta(seconds=1))
    return node


class Attempts:
    """A fake send: each attempt's behaviour by its number, and what each was called with."""

    def __init__(self, *behaviours):
        self.behaviours = behaviours
        self.calls = []
        self.release = threading.Event()  # lets a hanging attempt end
        self.lock = threading.Lock()

    def __call__(self, fresh, timeout):
        with self.lock:
            number = len(self.calls)
            self.calls.append((fresh, timeout))
        behaviour = self.behaviours[min(number, len(self.behaviours) - 1)]
        if behaviour == "hang":
            self.release.wait(timeout)
            raise requests.Timeout("read timed out")
        if behaviour == "crawl":  # each read within its timeout, the whole call far longer
            self.release.wait(3 * timeout)
            return ["too late"]
        if isinstance(behaviour, Exception):
            raise behaviour
        return behaviour


def test_it_returns_a_fast_answer_and_sends_nothing_more():
    send = Attempts(["published"])
    stuck = []
    assert callback_hedged(send, timeout=5, hedge_after=0.2, hedges=2, on_stuck=lambda: stuck.append(1)) == ["published"]
    time.sleep(0.3)
    assert send.calls == [(False, 5)] and stuck == []


def test_a_callback_that_has_not_answered_is_sent_again_on_a_new_connection():
    send = Attempts("hang", ["from the other server"])
    stuck = []
    started = time.monotonic()
    try:
        answer = callback_hedged(send, timeout=5, hedge_after=0.2, hedges=2, on_stuck=lambda: stuck.append(1))
    finally:
        send.release.set()
    assert answer == ["from the other server"]
    assert 0.2 <= time.monotonic() - started < 2
    assert [fresh for fresh, _ in send.calls] == [False, True]
    assert 4 < send.calls[1][1] <= 4.8  # what is left of the batch's timeout
    assert stuck == [1]  # the kept-alive connections are replaced: the next batches open new ones


def test_it_hedges_at_most_so_many_times_and_fails_with_the_first_error_when_all_fail():
    send = Attempts("hang")
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        callback_hedged(send, timeout=1, hedge_after=0.2, hedges=2)
    assert [fresh for fresh, _ in send.calls] == [False, True, True]
    # Every attempt ends within the batch's timeout (each hanging one times out by itself).
    assert time.monotonic() - started < 1.5


def test_the_timeout_bounds_the_whole_call_not_each_read():
    send = Attempts("crawl")
    started = time.monotonic()
    try:
        with pytest.raises(requests.Timeout):
            callback_hedged(send, timeout=0.5, hedge_after=0.2, hedges=1)
    finally:
        send.release.set()
    assert time.monotonic() - started < 1
    assert len(send.calls) == 2


def test_an_attempt_that_fails_leaves_the_one_in_flight_to_answer():
    send = Attempts("hang", requests.ConnectionError("reset"), ["third"])
    try:
        assert callback_hedged(send, timeout=5, hedge_after=0.1, hedges=2) == ["third"]
    finally:
        send.release.set()


def test_a_first_attempt_that_fails_at_once_is_not_hedged():
    # A 503 (the database busy) is an answer: the batch backs off as before, no second request.
    send = Attempts(requests.HTTPError("POST /api/posts/ answered 503"))
    stuck = []
    with pytest.raises(requests.HTTPError):
        callback_hedged(send, timeout=5, hedge_after=0.1, hedges=2, on_stuck=lambda: stuck.append(1))
    time.sleep(0.2)
    assert len(send.calls) == 1 and stuck == []


def test_a_broken_connection_renews_the_kept_alive_ones_for_the_retry():
    send = Attempts(requests.ConnectionError("reset"))
    stuck = []
    with pytest.raises(requests.ConnectionError):
        callback_hedged(send, timeout=5, hedge_after=0.1, hedges=2, on_stuck=lambda: stuck.append(1))
    assert stuck == [1]


def test_no_hedge_when_it_is_off():
    send = Attempts("hang")
    with pytest.raises(requests.Timeout):
        callback_hedged(send, timeout=0.5, hedge_after=0, hedges=2)
    assert len(send.calls) == 1


def test_the_budget_allows_a_share_of_the_callbacks_plus_a_burst():
    budget = HedgeBudget(ratio=0.1, burst=3)
    assert [budget.spend() for _ in range(4)] == [True, True, True, False]  # it starts full
    for _ in range(9):
        budget.earn()
    assert not budget.spend()  # 0.9 of a hedge
    budget.earn()
    assert budget.spend() and not budget.spend()
    for _ in range(1000):
        budget.earn()
    assert budget.tokens == 3  # no more saved than the burst


def test_over_many_callbacks_hedges_stay_within_the_budget():
    budget = HedgeBudget(ratio=0.1, burst=5)
    hedges = 0
    for _ in range(200):  # every callback would hedge twice
        budget.earn()
        hedges += budget.spend() + budget.spend()
    assert hedges <= 0.1 * 200 + 5


def test_the_budget_reads_its_settings(settings):
    settings.PSCHED_CALLBACK_HEDGE_RATIO, settings.PSCHED_CALLBACK_HEDGE_BURST = 0.5, 1
    budget = HedgeBudget()
    assert budget.spend() and not budget.spend()
    budget.earn()
    budget.earn()
    assert budget.spend()
    settings.PSCHED_CALLBACK_HEDGE_BURST = 0
    budget.earn()
    assert not budget.spend()  # 0: no hedges at all


def test_with_the_budget_spent_a_callback_waits_for_its_first_answer_instead_of_hedging():
    budget = HedgeBudget(ratio=0.1, burst=1)
    assert budget.spend()  # spent by earlier hedges
    send = Attempts("hang", ["never sent"])
    threading.Timer(0.7, send.release.set).start()  # the first attempt's answer, late
    send.behaviours = ("crawl",)
    stuck = []
    started = time.monotonic()
    assert callback_hedged(send, timeout=5, hedge_after=0.2, hedges=2, on_stuck=lambda: stuck.append(1),
                           budget=budget) == ["too late"]
    assert 0.6 < time.monotonic() - started < 2
    assert send.calls == [(False, 5)]  # no hedge
    assert stuck == [1]  # the kept-alive connections are still replaced for the next batches
    assert budget.tokens == pytest.approx(0.1)


def test_a_hedge_is_sent_once_the_budget_allows_it_again():
    budget = HedgeBudget(ratio=0.5, burst=1)
    assert budget.spend()  # spent: the call's own share (0.5) is not enough at the first hedge instant
    send = Attempts("hang", ["from the other server"])

    def callbacks_meanwhile():
        time.sleep(0.3)
        budget.earn()  # other batches' callbacks: 1.0 by the second hedge instant

    threading.Thread(target=callbacks_meanwhile).start()
    try:
        answer = callback_hedged(send, timeout=5, hedge_after=0.2, hedges=3, budget=budget)
    finally:
        send.release.set()
    assert answer == ["from the other server"]
    assert [fresh for fresh, _ in send.calls] == [False, True]
    assert 0.25 < send.calls[1][1] and send.calls[1][1] < 4.7  # sent at the second hedge instant (0.4 s)
    assert budget.tokens == pytest.approx(0.0)


def test_a_tick_hedges_within_the_process_budget(monkeypatch):
    """Each batch's callback draws on the one budget of the node process."""
    seen = []
    real = tick.callback_hedged

    def hedged(send, **kwargs):
        seen.append(kwargs.get("budget"))
        return real(lambda fresh, timeout: [], **kwargs)

    monkeypatch.setattr(tick, "callback_hedged", hedged)
    node = DispatcherNode(name="budgeted")
    finish = tick._publish_batch(node, "secret", [], tick.TickReport(node="budgeted"), clock=FixedClock())
    finish.answer.result(5)
    assert seen == [tick._hedge_budget]


class FixedClock:
    def now(self):
        return timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_stuck_callback_and_its_hedge_publish_each_post_once(live_node, alice, scheduled_posts_factory, monkeypatch,
                                                               settings):
    """The first attempt hangs (a lossy web server); the hedge publishes through another
    connection; then the stuck one gets through, late, and finds the posts published."""
    settings.PSCHED_CALLBACK_HEDGE_MS = 300
    scheduled_posts_factory(alice, 3, seconds=0.3)
    release, late_answers = threading.Event(), []
    renewed = []
    real_renew = tick._session_renew
    monkeypatch.setattr(tick, "_session_renew", lambda stale: (renewed.append(stale), real_renew(stale)))
    pooled = tick._session

    def callback(**kwargs):
        if kwargs.get("session") is pooled:
            release.wait(10)  # stuck on a kept-alive connection to a sick server
            late_answers.append(publish_callback(**kwargs))
            return late_answers[-1]
        release.set()  # the hedge: on a fresh connection
        return publish_callback(**kwargs)

    monkeypatch.setattr(tick, "publish_callback", callback)
    started = time.monotonic()
    report = run_tick(node_name=live_node.name, credential=live_node.secret)
    assert (report.claimed, report.published, report.failed) == (3, 3, 0)
    assert time.monotonic() - started < 5
    assert renewed == [pooled] and tick._session is not pooled
    wait_for(lambda: late_answers, 10, what="the stuck attempt's answer")
    posts = dict(Post.objects.values_list("scheduled_post_id", "pk"))
    assert len(posts) == 3 and Post.objects.filter(author=alice).count() == 3
    # The late repeat was answered with the posts already published, not new ones.
    assert {answer["scheduled_post"]: answer["post"] for answer in late_answers[0]} == posts
    assert set(ScheduledPost.objects.values_list("status", flat=True)) == {"published"}


@pytest.mark.django_db(transaction=True)
def test_attempts_of_one_batch_at_once_publish_it_once(live_node, alice, scheduled_posts_factory):
    """Four attempts reach the callback together: the rows' locks order them, the later ones
    find the posts published and answer with them."""
    scheduled_posts_factory(alice, 20, seconds=0.2)
    now = db_now()
    claims = claim_due_posts(node=live_node, now=now, horizon=now + timedelta(seconds=5), limit=100)
    assert len(claims) == 20
    wait_for(lambda: db_now() >= max(claim.due_at for claim in claims), 5, what="the posts due")
    start = threading.Barrier(4)

    def attempt(_):
        with tick._session_new() as session:
            start.wait()
            return publish_callback(node_name=live_node.name, credential=live_node.secret, claims=claims, session=session)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(attempt, range(4)))
    posts = dict(Post.objects.values_list("scheduled_post_id", "pk"))
    assert len(posts) == 20 and Post.objects.filter(author=alice).count() == 20
    for answer in answers:
        assert {item["scheduled_post"]: item["post"] for item in answer} == posts


@pytest.mark.django_db(transaction=True)
def test_the_callback_asks_mariadb_to_end_its_transaction_when_its_link_crawls(alice, node, node_client,
                                                                                 scheduled_posts_factory, settings):
    """A web server whose link to the database crawls must not keep the claimed rows locked
    while the node's hedge asks another web server: MariaDB rolls back a write transaction
    left idle for PSCHED_CALLBACK_IDLE_SECONDS. The limit holds for the callback only: the
    next request on the same connection (an import, a long page) is not cut short."""
    from django.db import connection

    if not getattr(connection, "mysql_is_mariadb", False):
        pytest.skip("MariaDB's idle_transaction_timeout")
    settings.PSCHED_CALLBACK_IDLE_SECONDS = 4
    seen = []

    def watch(execute, sql, params, many, context):
        if "scheduling_scheduledpost" in sql and sql.lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("SELECT @@session.idle_transaction_timeout")
                seen.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    scheduled_posts_factory(alice, 1, seconds=0.1)
    now = db_now()
    claims = claim_due_posts(node=node, now=now, horizon=now + timedelta(seconds=5), limit=10)
    wait_for(lambda: db_now() >= claims[0].due_at, 5, what="the post due")
    with connection.execute_wrapper(watch):
        response = node_client.post("/api/posts/?answer=ids", [tick.claim_serialize(claim) for claim in claims],
                                    format="json")
    assert response.status_code == 201
    assert seen and set(seen) == {4}, seen
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@session.idle_transaction_timeout, @@global.idle_transaction_timeout")
        session, server = cursor.fetchone()
    assert session == server


@pytest.mark.django_db(transaction=True)
def test_mariadb_ends_a_transaction_left_idle_inside_the_limit(alice):
    from django.db import OperationalError, connection, transaction

    from psched.lib.db import idle_transaction_limit, is_connection_lost

    if not getattr(connection, "mysql_is_mariadb", False):
        pytest.skip("MariaDB's idle_transaction_timeout")
    with pytest.raises(OperationalError) as raised:
        with idle_transaction_limit(1), transaction.atomic():
            ScheduledPost.objects.create(author=alice, text="held", publish_at=db_now(), timezone="UTC")
            time.sleep(2.5)  # what is tested is idleness itself: the client says nothing for 2.5 s
            ScheduledPost.objects.count()
    assert is_connection_lost(raised.value), raised.value
    connection.close()
    assert not ScheduledPost.objects.filter(text="held").exists()  # rolled back, its locks released


@pytest.mark.django_db(transaction=True)
def test_the_callbacks_limit_is_reset_when_its_request_ends_not_before_its_answer():
    # The reset is a round trip the node's deliveries would wait for: it runs at
    # request_finished (the answer written), and at once when the block raises.
    from django.core.signals import request_finished
    from django.db import connection

    from psched.lib.db import idle_transaction_limit

    if not getattr(connection, "mysql_is_mariadb", False):
        pytest.skip("MariaDB's idle_transaction_timeout")

    def limits():
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@session.idle_transaction_timeout, @@global.idle_transaction_timeout")
            return cursor.fetchone()

    with idle_transaction_limit(4, reset_at_request_end=True):
        pass
    assert limits()[0] == 4  # still set while the answer is written
    request_finished.send(sender=None)
    session, server = limits()
    assert session == server
    with pytest.raises(ValueError), idle_transaction_limit(4, reset_at_request_end=True):
        raise ValueError
    session, server = limits()
    assert session == server
