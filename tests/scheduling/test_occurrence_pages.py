"""One occurrence of a series from /scheduled/, its edit page, the post's edit page and the admin."""
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from scheduling.models import ScheduledPost, Series
from scheduling.series import series_create

PARIS = ZoneInfo("Europe/Paris")


def local_in(days, hour=9):
    local = (timezone.now().astimezone(PARIS) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return local.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S")


def make(alice):
    return series_create(author=alice, text="daily", start=local_in(1), timezone_name="Europe/Paris",
                         rrule_text="FREQ=DAILY;COUNT=10")


def test_it_lists_next_occurrences_with_edit_and_skip(client, alice, node):
    series = make(alice)
    client.force_login(alice)
    page = client.get("/scheduled/").content.decode()
    assert f"/scheduled/series/{series.pk}/occurrences/1/edit/" in page
    assert f"/scheduled/series/{series.pk}/occurrences/1/skip/" in page


def test_it_skips_and_restores_from_the_page(client, alice, node):
    series = make(alice)
    client.force_login(alice)
    page = client.post(f"/scheduled/series/{series.pk}/occurrences/2/skip/", follow=True).content.decode()
    assert "Occurrence 2 of series" in page and f"/scheduled/series/{series.pk}/occurrences/2/restore/" in page
    assert ScheduledPost.objects.get(series=series, series_index=2).status == "cancelled"
    client.post(f"/scheduled/series/{series.pk}/occurrences/2/restore/")
    assert Series.objects.get(pk=series.pk).skipped == []
    page = client.post(f"/scheduled/series/{series.pk}/occurrences/99/skip/", follow=True).content.decode()
    assert "has no occurrence 99" in page


def test_it_edits_only_this_one_from_its_page(client, alice, node):
    series = make(alice)
    client.force_login(alice)
    url = f"/scheduled/series/{series.pk}/occurrences/3/edit/"
    page = client.get(url).content.decode()
    assert "Only this one" in page and "This and the following ones" in page
    response = client.post(url, {"text": "just this", "publish_at": local_in(3, hour=11), "timezone": "Europe/Paris",
                                 "scope": "this"})
    assert response.status_code == 302
    post = ScheduledPost.objects.get(series=series, series_index=3)
    assert post.series_detached and post.text == "just this"
    assert post.publish_at.astimezone(PARIS).hour == 11


def test_it_edits_this_and_the_following_from_the_post_edit_page(client, alice, node):
    series = make(alice)
    post = ScheduledPost.objects.get(series=series, series_index=4)
    client.force_login(alice)
    assert "This and the following ones" in client.get(f"/scheduled/{post.pk}/edit/").content.decode()
    response = client.post(f"/scheduled/{post.pk}/edit/", {"text": "from the fourth", "publish_at": local_in(4),
                                                           "timezone": "Europe/Paris", "scope": "following"})
    assert response.status_code == 302
    continuing = Series.objects.get(continues=series)
    assert continuing.text == "from the fourth" and continuing.rrule == "FREQ=DAILY;COUNT=7"
    post.refresh_from_db()
    assert post.status == "cancelled"
    assert ScheduledPost.objects.get(series=continuing, series_index=1).publish_at == post.publish_at


def test_the_admin_edit_of_an_occurrence_detaches_it(client, admin_user, alice, node):
    series = make(alice)
    post = ScheduledPost.objects.get(series=series, series_index=2)
    client.force_login(admin_user)
    local = post.publish_at.astimezone(PARIS)
    response = client.post(f"/admin/scheduling/scheduledpost/{post.pk}/change/", {
        "text": "edited by staff", "publish_at_0": local.strftime("%Y-%m-%d"), "publish_at_1": local.strftime("%H:%M:%S"),
        "publish_at": post.publish_at.strftime("%Y-%m-%d %H:%M:%S"), "timezone": "Europe/Paris",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    post.refresh_from_db()
    assert post.text == "edited by staff" and post.series_detached
    assert [entry["index"] for entry in Series.objects.get(pk=series.pk).detached] == [2]
    assert client.get(f"/admin/scheduling/series/{series.pk}/change/").status_code == 200
