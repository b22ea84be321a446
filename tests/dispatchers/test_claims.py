import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dispatchers.services import (
    claim_due_posts,
    claims_record_failure,
    leases_release_expired,
    node_register,
)
from scheduling.models import ScheduledPost

Status = ScheduledPost.Status


def test_it_claims_due_posts_once(alice, node, scheduled_posts_factory):
    scheduled_posts_factory(alice, 5)
    later = timezone.now() + timedelta(seconds=61)
    first = claim_due_posts(node=node, now=timezone.now(), horizon=later, limit=100)
    second = claim_due_posts(node=node, now=timezone.now(), horizon=later, limit=100)
    assert len(first) == 5
    assert second == []
    assert ScheduledPost.objects.filter(status=Status.PUBLISHING, attempts=1).count() == 5


def test_it_leaves_posts_that_are_not_due(alice, node, scheduled_posts_factory):
    scheduled_posts_factory(alice, 3, seconds=120)
    assert claim_due_posts(node=node, now=timezone.now(), horizon=timezone.now() + timedelta(seconds=1), limit=100) == []


def test_it_only_claims_its_own_posts(alice, node, scheduled_posts_factory):
    scheduled_posts_factory(alice, 4)
    other, _ = node_register(name="n2")
    later = timezone.now() + timedelta(seconds=61)
    assert claim_due_posts(node=other, now=timezone.now(), horizon=later, limit=100) == []


def test_it_takes_over_another_nodes_posts_left_pending_past_their_time(alice, node, scheduled_posts_factory):
    posts = scheduled_posts_factory(alice, 4)  # all routed to n1, the only node then
    other, _ = node_register(name="n2")
    now = timezone.now()
    # n1 is alive but slow (a lossy link): two of its posts are 5 s overdue, one just due.
    ScheduledPost.objects.filter(pk__in=[posts[0].pk, posts[1].pk]).update(due_at=now - timedelta(seconds=5))
    ScheduledPost.objects.filter(pk=posts[2].pk).update(due_at=now - timedelta(seconds=1))
    claims = claim_due_posts(node=other, now=now, horizon=now + timedelta(seconds=1), limit=100, others=[node.pk])
    assert sorted(claim.scheduled_post for claim in claims) == sorted([posts[0].pk, posts[1].pk])
    assert set(ScheduledPost.objects.filter(status=Status.PUBLISHING).values_list("pk", "dispatcher")) == {
        (posts[0].pk, other.pk), (posts[1].pk, other.pk)}
    # Its own node's claim takes what is left, not the posts taken over.
    mine = claim_due_posts(node=node, now=now, horizon=now + timedelta(seconds=1), limit=100)
    assert [claim.scheduled_post for claim in mine] == [posts[2].pk]


@pytest.mark.django_db(transaction=True)
def test_it_never_gives_a_row_to_two_concurrent_claims(django_user_model, scheduled_posts_factory):
    author = django_user_model.objects.create_user("racer")
    node, _ = node_register(name="race")
    scheduled_posts_factory(author, 300)
    later = timezone.now() + timedelta(seconds=61)
    results, barrier = [], threading.Barrier(4)

    def claim():
        barrier.wait()
        try:
            got = []
            while batch := claim_due_posts(node=node, now=timezone.now(), horizon=later, limit=25):
                got += [c.scheduled_post for c in batch]
            results.append(got)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [pk for got in results for pk in got]
    assert len(claimed) == 300
    assert len(set(claimed)) == 300


def test_it_releases_expired_leases(alice, node, settings, scheduled_posts_factory):
    scheduled_posts_factory(alice, 2)
    horizon = timezone.now() + timedelta(seconds=61)
    claim_due_posts(node=node, now=timezone.now(), horizon=horizon, limit=100)
    # The lease runs from the horizon, so posts claimed ahead are not taken while they wait.
    assert leases_release_expired(now=horizon + timedelta(seconds=settings.PSCHED_LEASE_SECONDS - 1)) == 0
    assert leases_release_expired(now=horizon + timedelta(seconds=settings.PSCHED_LEASE_SECONDS + 1)) == 2
    assert ScheduledPost.objects.filter(status=Status.PENDING, claim_token="").count() == 2


def test_it_backs_off_then_fails(alice, node, settings, scheduled_posts_factory):
    settings.PSCHED_MAX_ATTEMPTS = 2
    (post,) = scheduled_posts_factory(alice, 1)
    horizon = timezone.now() + timedelta(days=1)
    claims = claim_due_posts(node=node, now=timezone.now(), horizon=horizon, limit=10)
    claims_record_failure(node=node, claims=claims, error="main side answered 503")
    post.refresh_from_db()
    assert post.status == Status.PENDING
    assert post.last_error == "main side answered 503"
    assert post.due_at > timezone.now()
    claims = claim_due_posts(node=node, now=timezone.now(), horizon=horizon, limit=10)
    claims_record_failure(node=node, claims=claims, error="still 503")
    post.refresh_from_db()
    assert post.status == Status.FAILED
    assert post.attempts == 2


def test_a_failure_report_does_not_touch_a_lost_claim(alice, node, scheduled_posts_factory):
    (post,) = scheduled_posts_factory(alice, 1)
    claims = claim_due_posts(node=node, now=timezone.now(), horizon=timezone.now() + timedelta(days=1), limit=10)
    ScheduledPost.objects.filter(pk=post.pk).update(status=Status.CANCELLED, claim_token="")
    claims_record_failure(node=node, claims=claims, error="timeout")
    post.refresh_from_db()
    assert post.status == Status.CANCELLED


def test_it_jitters_the_backoff_of_each_post(alice, node, scheduled_posts_factory):
    scheduled_posts_factory(alice, 20)
    claims = claim_due_posts(node=node, now=timezone.now(), horizon=timezone.now() + timedelta(days=1), limit=100)
    assert len(claims) == 20
    claims_record_failure(node=node, claims=claims, error="main side answered 503")
    due = list(ScheduledPost.objects.filter(status=Status.PENDING).values_list("due_at", flat=True))
    assert len(due) == 20
    # Posts that failed together retry at different moments, not as one herd.
    assert len(set(due)) > 15
