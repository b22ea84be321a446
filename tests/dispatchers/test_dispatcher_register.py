from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from dispatchers.models import DispatcherNode


def test_it_registers_a_node_and_its_tick(db):
    out = StringIO()
    call_command("dispatcher_register", "n7", "--weight", "30", stdout=out)
    node = DispatcherNode.objects.get(name="n7")
    assert node.weight == 30
    assert PeriodicTask.objects.get(name=node.tick_task_name).queue == "dispatch.n7"
    assert "run_dispatcher n7" in out.getvalue()


def test_it_refuses_an_existing_name(node):
    with pytest.raises(CommandError, match="already exists"):
        call_command("dispatcher_register", "n1", stdout=StringIO())


def test_it_refuses_a_bad_name(db):
    with pytest.raises(CommandError, match="not a valid node name"):
        call_command("dispatcher_register", "two words", stdout=StringIO())
    assert not DispatcherNode.objects.exists()
