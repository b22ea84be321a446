from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from scheduling.models import ScheduledPost
from tests.dates import NEXT_YEAR


def run(*args) -> str:
    out = StringIO()
    call_command("schedule_post", *args, stdout=out)
    return out.getvalue()


def test_it_schedules_a_local_time_in_a_zone(alice, node):
    out = run("--author", "alice", "--at", f"{NEXT_YEAR}-07-01T09:00:00", "--timezone", "Europe/Paris", "Hello later")
    post = ScheduledPost.objects.get()
    assert (post.author, post.text, post.timezone, post.dispatcher) == (alice, "Hello later", "Europe/Paris", node)
    assert post.publish_at.isoformat() == f"{NEXT_YEAR}-07-01T07:00:00+00:00"
    assert f"#{post.pk}" in out and f"{NEXT_YEAR}-07-01 07:00:00Z ({NEXT_YEAR}-07-01 09:00:00 Europe/Paris)" in out


def test_it_reports_each_bad_field_and_schedules_nothing(db):
    with pytest.raises(CommandError) as error:
        run("--author", "zed", "--at", "2001-01-01T00:00:00Z", "   ")
    message = str(error.value)
    assert "author: no user named 'zed'" in message
    assert "text: " in message
    assert "publish_at: 2001-01-01 00:00:00 UTC is in the past" in message
    assert not ScheduledPost.objects.exists()


def test_it_wants_an_offset_or_a_zone(alice):
    with pytest.raises(CommandError, match="publish_at: This time has no offset"):
        run("--author", "alice", "--at", f"{NEXT_YEAR}-07-01T09:00:00", "Hello")
