from scheduling.models import ScheduledPost


def test_it_filters_and_searches(client, admin_user, alice, bob, node, scheduled_post_factory):
    scheduled_post_factory(alice, text="alpha plan")
    scheduled_post_factory(bob, text="beta plan")
    client.force_login(admin_user)
    page = client.get("/admin/scheduling/scheduledpost/", {"status__exact": "pending", "q": "beta"}).content.decode()
    results = page.split('id="result_list"')[1].split("</table>")[0]
    assert "beta plan" not in results  # the list shows authors, not text
    assert ">bob<" in results and "alice" not in results
    filters = " ".join(client.get("/admin/scheduling/scheduledpost/").content.decode().split())
    assert "By status" in filters and "By dispatcher" in filters and "By author" in filters


def test_it_cancels_the_selected_posts(client, admin_user, alice, node, published, scheduled_post_factory):
    pending = scheduled_post_factory(alice)
    done = published(alice)
    client.force_login(admin_user)
    page = client.post(
        "/admin/scheduling/scheduledpost/", {"action": "cancel", "_selected_action": [pending.id, done.id]}, follow=True
    ).content.decode()
    assert "1 scheduled post cancelled." in page
    assert "already published; it can no longer be cancelled" in page
    assert ScheduledPost.objects.get(pk=pending.pk).status == "cancelled"
    assert ScheduledPost.objects.get(pk=done.pk).status == "published"


def test_it_retries_the_selected_failed_posts(client, admin_user, alice, node, scheduled_post_factory):
    post = scheduled_post_factory(alice)
    ScheduledPost.objects.filter(pk=post.pk).update(status="failed", attempts=12)
    client.force_login(admin_user)
    page = client.post(
        "/admin/scheduling/scheduledpost/", {"action": "retry", "_selected_action": [post.id]}, follow=True
    ).content.decode()
    assert "1 scheduled post queued again." in page
    assert ScheduledPost.objects.get(pk=post.pk).status == "pending"
