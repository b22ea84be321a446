"""The calendar marks a published post's deliveries: a badge with the worst state, and each
delivery in its tooltip."""
import re

from destinations.models import Delivery
from feed.models import Post


def chip_of(page: str, pk: int) -> str:
    return re.search(rf'<li class="cal-post[^"]*" id="cal-post-{pk}".*?</li>', page, re.S).group(0)


def deliver(row, destination, key, state, error=""):
    return Delivery.objects.create(
        post=Post.objects.get(scheduled_post=row), scheduled_post=row, destination=destination, key=key, state=state,
        error=error,
    )


def test_it_marks_a_failed_delivery(client, alice, published, webhook):
    row = published(alice, text="went out")
    hook, _ = webhook(alice, name="<i>blog</i>")
    other, _ = webhook(alice, name="mirror")
    deliver(row, hook, "msg_a", "failed", error="The receiver answered <b>500</b>.")
    deliver(row, other, "msg_b", "delivered")
    client.force_login(alice)
    chip = chip_of(client.get("/calendar/").content.decode(), row.id)
    assert '<span class="cal-delivery d-failed"' in chip and "1 delivery failed" in chip
    assert "To &lt;i&gt;blog&lt;/i&gt;: failed (The receiver answered &lt;b&gt;500&lt;/b&gt;.)" in chip
    assert "To mirror: delivered" in chip
    assert "<i>blog" not in chip and "<b>500" not in chip


def test_it_marks_unconfirmed_and_delivered_ones(client, alice, published, webhook):
    unsure, fine = published(alice, text="unsure"), published(alice, text="fine")
    hook, _ = webhook(alice)
    deliver(unsure, hook, "msg_u", "unconfirmed", error="No answer in 15 s.")
    deliver(fine, hook, "msg_f", "delivered")
    client.force_login(alice)
    for view in ("week", "day", "month"):
        page = client.get(f"/calendar/?view={view}").content.decode()
        assert "1 delivery unconfirmed" in chip_of(page, unsure.id)
        assert 'class="cal-delivery d-delivered"' in chip_of(page, fine.id)


def test_it_shows_no_badge_without_deliveries(client, alice, published):
    row = published(alice)
    client.force_login(alice)
    assert "cal-delivery" not in chip_of(client.get("/calendar/").content.decode(), row.id)
