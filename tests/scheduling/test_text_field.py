"""Every form that writes a post has the one text field: no maxlength (a paste is kept whole),
and the counter knows the limit (feed/_text_field.html)."""
from datetime import timedelta

from django.utils import timezone

from scheduling.services import scheduled_post_create
from scheduling.series import series_create


def test_each_post_form_has_the_counter_and_no_maxlength(client, alice, published):
    client.force_login(alice)
    when = (timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    post = scheduled_post_create(author=alice, text="later", publish_at=when, timezone_name="UTC")
    done = published(alice, text="done")
    series = series_create(author=alice, text="weekly", start=when, timezone_name="UTC", rrule_text="FREQ=WEEKLY;COUNT=3")
    for path in ["/", f"/scheduled/{post.id}/edit/", f"/scheduled/{done.id}/duplicate/", "/scheduled/series/new/",
                 f"/scheduled/series/{series.id}/edit/"]:
        page = client.get(path).content.decode()
        assert 'data-max="500">at most 500 characters</small>' in page, path
        assert "maxlength" not in page, path
