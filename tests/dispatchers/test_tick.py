import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from dispatchers.models import DispatcherNode
from dispatchers.services import node_credential_issue, node_register, node_set_state
from dispatchers.tick import run_tick
from feed.models import Post
from scheduling.models import ScheduledPost
from scheduling.services import ScheduleInput, scheduled_posts_create
from psched.lib.timeparse import ParsedTime

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ticking_node(live_server, settings):
    settings.PSCHED_API_URL = live_server.url
    node, _ = node_register(name="ticker")
    # Ticked a tick ago: alive, and the next tick is not a repeat of that one.
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now() - timedelta(seconds=1))
    return node, node_credential_issue(node=node)


def make_due(author, count, seconds=0.2):
    when = timezone.now() + timedelta(seconds=seconds)
    return scheduled_posts_create(author=author, inputs=[
        ScheduleInput(text=f"tick {i}", when=ParsedTime(when, "UTC")) for i in range(count)
    ])


def test_it_publishes_posts_due_before_the_next_tick(ticking_node, django_user_model):
    node, credential = ticking_node
    author = django_user_model.objects.create_user("ticker-author")
    make_due(author, 3)
    report = run_tick(node_name=node.name, credential=credential)
    assert (report.claimed, report.published) == (3, 3)
    assert Post.objects.filter(author=author, dispatcher=node).count() == 3
    late = ScheduledPost.objects.values_list("lateness_ms", flat=True)
    assert all(value is not None and value >= 0 for value in late)


def test_it_leaves_later_posts_for_later_ticks(ticking_node, django_user_model):
    node, credential = ticking_node
    make_due(django_user_model.objects.create_user("later"), 2, seconds=30)
    assert run_tick(node_name=node.name, credential=credential).claimed == 0
    assert ScheduledPost.objects.filter(status="pending").count() == 2


def test_it_backs_off_when_the_callback_fails(ticking_node, django_user_model, settings):
    node, credential = ticking_node
    settings.PSCHED_API_URL = "http://127.0.0.1:9"  # nothing listens there
    make_due(django_user_model.objects.create_user("unlucky"), 2)
    report = run_tick(node_name=node.name, credential=credential)
    assert report.failed == 2
    for post in ScheduledPost.objects.all():
        assert post.status == "pending" and post.attempts == 1
        assert post.due_at > timezone.now() and post.last_error
    assert not Post.objects.exists()


def test_a_wrong_credential_publishes_nothing(ticking_node, django_user_model):
    node, _ = ticking_node
    make_due(django_user_model.objects.create_user("spoofed"), 1)
    report = run_tick(node_name=node.name, credential="stolen")
    assert report.failed == 1
    assert not Post.objects.exists()


def test_a_draining_node_hands_its_posts_over(ticking_node, django_user_model):
    node, credential = ticking_node
    make_due(django_user_model.objects.create_user("drained"), 4, seconds=60)
    other, _ = node_register(name="other")
    DispatcherNode.objects.filter(pk=node.pk).update(state=DispatcherNode.State.DRAINING)
    run_tick(node_name=node.name, credential=credential)
    assert set(ScheduledPost.objects.values_list("dispatcher__name", flat=True)) == {"other"}


def test_a_silent_node_is_marked_down_and_its_posts_move(ticking_node, django_user_model):
    node, credential = ticking_node
    silent, _ = node_register(name="silent")
    DispatcherNode.objects.filter(pk=silent.pk).update(last_seen=timezone.now() - timedelta(minutes=5))
    posts = make_due(django_user_model.objects.create_user("moved"), 20, seconds=60)
    assert ScheduledPost.objects.filter(dispatcher=silent).exists()
    run_tick(node_name=node.name, credential=credential)
    silent.refresh_from_db()
    assert silent.state == DispatcherNode.State.DOWN
    assert not ScheduledPost.objects.filter(dispatcher=silent).exists()
    assert ScheduledPost.objects.filter(dispatcher=node).count() == len(posts)


def test_it_records_the_tick_and_its_duration(ticking_node):
    node, credential = ticking_node
    # A draining node claims nothing, so the tick makes no callback.
    node_set_state(node=node, state=DispatcherNode.State.DRAINING)
    report = run_tick(node_name=node.name, credential=credential)
    node.refresh_from_db()
    assert report.claimed == 0
    assert node.last_seen is not None
    assert node.last_tick_ms is not None and node.last_tick_ms >= 0


def test_a_full_claim_is_followed_by_another(ticking_node, django_user_model, settings):
    node, credential = ticking_node
    settings.PSCHED_CLAIM_LIMIT = 2
    make_due(django_user_model.objects.create_user("backlog"), 5, seconds=0)
    report = run_tick(node_name=node.name, credential=credential)
    assert (report.claimed, report.published) == (5, 5)
    assert Post.objects.count() == 5


def test_a_tick_claims_beyond_the_next_tick_by_the_claim_ahead(ticking_node, django_user_model, settings):
    """A tick that comes late finds its first posts claimed and sent by the one before."""
    node, credential = ticking_node
    make_due(django_user_model.objects.create_user("ahead"), 1, seconds=2)
    settings.PSCHED_CLAIM_AHEAD_MS = 0
    assert run_tick(node_name=node.name, credential=credential).claimed == 0
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now() - timedelta(seconds=1))
    settings.PSCHED_CLAIM_AHEAD_MS = 3000
    report = run_tick(node_name=node.name, credential=credential)
    assert (report.claimed, report.published) == (1, 1)


def test_a_slow_answer_does_not_hold_back_the_next_batch(ticking_node, django_user_model, monkeypatch):
    """Batches go out from sender threads: the second is sent while the first still waits
    for its answer (a commit held up by the disk, say)."""
    from dispatchers import tick

    node, credential = ticking_node
    author = django_user_model.objects.create_user("parallel")
    make_due(author, 1, seconds=0.3)
    make_due(author, 1, seconds=0.5)
    real = tick.publish_callback
    second_sent = threading.Event()
    calls, overlapped = [], []

    def callback(**kwargs):
        calls.append(kwargs["claims"])
        if len(calls) == 1:
            # Without parallel sends the second call cannot come while this one waits.
            overlapped.append(second_sent.wait(10))
        else:
            second_sent.set()
        return real(**kwargs)

    monkeypatch.setattr(tick, "publish_callback", callback)
    report = run_tick(node_name=node.name, credential=credential)
    assert overlapped == [True] and len(calls) == 2
    assert report.published == 2
