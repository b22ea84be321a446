from collections import Counter

from dispatchers.models import DispatcherNode
from dispatchers.services import node_for_post


def nodes(**weights):
    return [DispatcherNode(name=name, weight=weight) for name, weight in weights.items()]


def test_it_spreads_by_weight():
    counts = Counter(node_for_post(post_id=i, nodes=nodes(a=100, b=100, c=200)).name for i in range(20000))
    assert 0.2 < counts["a"] / 20000 < 0.3
    assert 0.45 < counts["c"] / 20000 < 0.55


def test_it_moves_only_the_removed_share():
    before = {i: node_for_post(post_id=i, nodes=nodes(a=100, b=100, c=100)).name for i in range(5000)}
    after = {i: node_for_post(post_id=i, nodes=nodes(a=100, b=100)).name for i in range(5000)}
    moved = [i for i in before if before[i] != after[i]]
    assert all(before[i] == "c" for i in moved)


def test_it_has_no_node_without_candidates():
    assert node_for_post(post_id=1, nodes=[]) is None
    assert node_for_post(post_id=1, nodes=nodes(a=0)) is None


def test_it_leaves_posts_unrouted_when_every_active_node_weighs_nothing(db, django_user_model):
    from datetime import timedelta

    from django.utils import timezone

    from dispatchers.services import node_register, scheduled_posts_route
    from scheduling.models import ScheduledPost

    node, _ = node_register(name="light", weight=0)
    author = django_user_model.objects.create_user("weightless")
    when = timezone.now() + timedelta(minutes=1)
    post = ScheduledPost.objects.create(author=author, text="x", publish_at=when, due_at=when)
    assert scheduled_posts_route(scheduled_posts=[post]) == 0
    post.refresh_from_db()
    assert post.dispatcher is None


def in_a_minute():
    from datetime import timedelta

    from django.utils import timezone

    return (timezone.now() + timedelta(minutes=1)).isoformat()


def test_it_reads_the_nodes_once_a_second_when_creating(transactional_db, django_user_model, django_assert_num_queries):
    from dispatchers.services import node_register
    from scheduling.services import scheduled_post_create

    node, _ = node_register(name="n1")
    author = django_user_model.objects.create_user("often")
    scheduled_post_create(author=author, text="first", publish_at=in_a_minute())
    with django_assert_num_queries(2):  # the database clock (checking the time), the INSERT already routed
        post = scheduled_post_create(author=author, text="second", publish_at=in_a_minute())
    assert post.dispatcher_id == node.pk


def test_it_routes_again_when_a_node_was_removed_elsewhere(transactional_db, django_user_model):
    from dispatchers.models import DispatcherNode
    from dispatchers.services import node_register
    from scheduling.models import ScheduledPost
    from scheduling.services import scheduled_post_create

    gone, _ = node_register(name="gone")
    author = django_user_model.objects.create_user("routed")
    scheduled_post_create(author=author, text="first", publish_at=in_a_minute())
    # As another process would: this one's list of nodes still names the removed node.
    DispatcherNode.objects.filter(pk=gone.pk).delete()
    kept = DispatcherNode.objects.create(name="kept")
    post = scheduled_post_create(author=author, text="second", publish_at=in_a_minute())
    assert ScheduledPost.objects.get(pk=post.pk).dispatcher_id == kept.pk
