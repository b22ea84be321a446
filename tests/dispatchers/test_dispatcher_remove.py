from io import StringIO

from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from dispatchers.models import DispatcherNode
from dispatchers.services import node_register
from scheduling.models import ScheduledPost


def test_it_hands_the_posts_over_then_removes_the_node(alice, node, scheduled_posts_factory):
    scheduled_posts_factory(alice, 10)
    other, _ = node_register(name="n2")
    out = StringIO()
    call_command("dispatcher_remove", "n1", stdout=out)
    assert not DispatcherNode.objects.filter(name="n1").exists()
    assert not PeriodicTask.objects.filter(name=node.tick_task_name).exists()
    assert ScheduledPost.objects.filter(dispatcher=other, status="pending").count() == 10
    assert "10 posts moved" in out.getvalue()
