import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium
TOKYO = ZoneInfo("Asia/Tokyo")  # the browser's zone in these tests (UTC+09:00)


def test_it_posts_now_as_plain_text(signed_in):
    page = signed_in
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_label("What's happening?").fill("<script>alert(1)</script>")
    expect(page.locator(".counter")).to_have_text("475 characters left")
    page.get_by_role("button", name="Post now").click()
    expect(page.locator(".messages")).to_have_text("Posted.")
    expect(page.locator(".post .text").first).to_have_text("<script>alert(1)</script>")
    assert dialogs == []


def test_it_shows_a_bad_date_next_to_the_field(signed_in):
    page = signed_in
    page.get_by_label("What's happening?").fill("too late")
    page.get_by_label("Publish at").fill("2020-01-01T10:00")
    page.get_by_role("button", name="Schedule").click()
    field = page.get_by_label("Publish at")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".schedule .errorlist")).to_contain_text("is in the past")
    expect(page.get_by_label("What's happening?")).to_have_value("too late")


def test_it_schedules_when_enter_is_pressed_in_the_zone_field(signed_in):
    page = signed_in
    page.get_by_label("What's happening?").fill("enter means schedule")
    page.get_by_label("Publish at").fill((datetime.now(TOKYO) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Scheduled for")
    expect(page.locator(".upcoming .post").first).to_contain_text("enter means schedule")


def test_it_schedules_in_the_browsers_zone_and_the_post_appears(signed_in):
    page = signed_in
    # No zone on the profile: the form takes the browser's.
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    due = datetime.now(TOKYO).replace(microsecond=0) + timedelta(seconds=5)
    text = f"scheduled by {page.username}"
    page.get_by_label("What's happening?").fill(text)
    page.get_by_label("Publish at").fill(due.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages")).to_contain_text(f"Scheduled for {due:%Y-%m-%d %H:%M:%S} (Asia/Tokyo)")
    expect(page.locator(".upcoming .post").first).to_contain_text(text)

    page.get_by_role("link", name="Feed").click()
    expect(page.locator("#posts")).not_to_contain_text(text)
    # The page is not reloaded: the post arrives through the poll of /api/posts/.
    page.evaluate("window.notReloaded = true")
    post = page.locator(".post", has_text=text)
    expect(post).to_be_visible(timeout=30_000)
    assert page.evaluate("window.notReloaded") is True
    expect(post.locator(".receipt")).to_contain_text("Scheduled for")
    expect(post.locator(".receipt")).to_contain_text("late")
    expect(post.locator(".receipt")).to_contain_text("node browser-")


@pytest.mark.parametrize("context", [{"java_script_enabled": False}], indirect=True)
def test_it_posts_and_schedules_without_javascript(signed_in):
    page = signed_in
    page.get_by_label("What's happening?").fill("no script needed")
    page.get_by_role("button", name="Post now").click()
    expect(page.locator(".post .text").first).to_have_text("no script needed")
    # Without the script the zone stays empty, which means UTC.
    expect(page.get_by_label("Time zone")).to_have_value("")
    due = datetime.now(TOKYO) + timedelta(hours=1)
    page.get_by_label("What's happening?").fill("later, without script")
    page.get_by_label("Publish at").fill(due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone").fill("Asia/Tokyo")
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages")).to_contain_text(f"Scheduled for {due:%Y-%m-%d %H:%M}:00 (Asia/Tokyo)")
    expect(page.locator(".upcoming .post").first).to_contain_text("later, without script")


def test_it_shows_no_empty_button_above_the_compose_box(signed_in):
    page = signed_in
    # The hidden default button (Enter schedules) stays hidden: no empty blue pill.
    expect(page.locator("form.compose button[hidden]")).to_be_hidden()
    for text in page.locator("main button:visible").all_inner_texts():
        assert text.strip()


def test_it_keeps_a_paste_over_the_limit_and_says_so(signed_in):
    page = signed_in
    page.get_by_label("What's happening?").fill("x" * 512)
    expect(page.get_by_label("What's happening?")).to_have_value("x" * 512)
    expect(page.locator(".counter")).to_have_text("12 characters over the limit of 500: shorten the text before posting")
    page.get_by_role("button", name="Post now").click()
    expect(page.locator("form.compose .errorlist")).to_contain_text("Text is 512 characters long; the limit is 500.")
    expect(page.get_by_label("What's happening?")).to_have_value("x" * 512)


def test_it_shows_rendered_and_live_times_in_one_zone(signed_in):
    page = signed_in
    # Far enough ahead to be still upcoming on a loaded machine, near enough to say seconds.
    due = datetime.now(TOKYO).replace(microsecond=0) + timedelta(seconds=40)
    page.get_by_label("What's happening?").fill(f"live in Tokyo {page.username}")
    page.get_by_label("Publish at").fill(due.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages")).to_contain_text("Scheduled for")
    # A relative time under a minute says seconds.
    expect(page.locator(".upcoming .relative").first).to_have_text(re.compile(r"^in \d{1,2} seconds?$|^now$"))
    page.get_by_role("link", name="Feed").click()
    page.get_by_label("What's happening?").fill(f"rendered in Tokyo {page.username}")
    page.get_by_role("button", name="Post now").click()
    live = page.locator(".post.new", has_text=f"live in Tokyo {page.username}")
    expect(live).to_be_visible(timeout=90_000)
    expect(live.locator(".receipt time")).to_have_count(2)
    texts = page.locator("main time").all_inner_texts()
    assert len(texts) >= 4 and all(text.endswith(" JST") for text in texts), texts


def test_it_shows_a_post_committed_after_newer_ones(stack, page):
    # Two callbacks commit out of id order: the page shows the higher id first, and the
    # lower one, committed later, must still appear without a reload.
    first = int(stack.manage("shell", "-c", (
        "from django.contrib.auth import get_user_model; from django.db.models import Max; from feed.models import Post\n"
        f"author = get_user_model().objects.get(username='{stack.staff_username}')\n"
        "first = (Post.objects.aggregate(top=Max('id'))['top'] or 0) + 1000\n"
        "Post.objects.create(pk=first, author=author, text=f'before {first}')\n"
        "Post.objects.create(pk=first + 2, author=author, text=f'committed first {first}')\n"
        "print(first)"
    )).split()[-1])  # the shell may print a line of its own first
    page.goto("/")
    expect(page.locator(f"#post-{first + 2}")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    stack.manage("shell", "-c", (
        "from django.contrib.auth import get_user_model; from feed.models import Post\n"
        f"author = get_user_model().objects.get(username='{stack.staff_username}')\n"
        f"Post.objects.create(pk={first + 1}, author=author, text='committed last {first}')"
    ))
    late = page.locator(f"#post-{first + 1}")
    expect(late).to_contain_text(f"committed last {first}", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True
    # In its place by id, between the two it was committed after.
    ids = page.locator("#posts > li.post").evaluate_all("items => items.map(item => item.id)")
    assert ids.index(f"post-{first + 2}") < ids.index(f"post-{first + 1}") < ids.index(f"post-{first}")
