import math
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

from psched.lib.db import request_now
from psched.lib.forms import add_service_errors
from psched.lib.timeparse import zone_choices

from .forms import ComposeForm
from .models import Post
from .selectors import post_feed_after, post_feed_cursor, post_feed_page
from .services import post_create
from .signals import posts_rendering


def index(request):
    """The feed, and the compose form's "Post now". Its "Schedule" button posts to a view of
    scheduling (the button's formaction); an old form that still sends it here is passed on."""
    # The calendar links here with a time to compose at: ?publish_at=<local>&timezone=<zone>.
    form = ComposeForm(request.POST or None, initial={
        "timezone": request.GET.get("timezone", "")[:64] or str(getattr(request, "user_zone", "")),
        "publish_at": request.GET.get("publish_at", "")[:32],
    })
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.POST.get("action") == "schedule":
            return redirect(reverse("scheduling:compose"), permanent=False, preserve_request=True)
        if form.is_valid():
            try:
                wait = _posting_wait(request)
                if wait is not None:
                    form.add_error("text", f"You are posting too fast: try again in {wait} second{'s' if wait != 1 else ''}.")
                    return feed_page(request, form, status=429)
                post_create(author=request.user, text=form.cleaned_data["text"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Posted.")
                return redirect("feed:index")
    return feed_page(request, form)


def _posting_wait(request) -> int | None:
    """None when the user may post now; else the seconds to wait (the API's `posting` rate)."""
    throttle = ScopedRateThrottle()
    if throttle.allow_request(request, SimpleNamespace(throttle_scope="posting")):
        return None
    return max(1, math.ceil(throttle.wait() or 1))


def feed_page(request, form: ComposeForm, status: int = 200, context: dict | None = None):
    """The feed page around a compose form (scheduling renders it too, with its errors, and in
    `context` what its form's other fields had, e.g. the destinations ticked)."""
    author = request.GET.get("author", "").strip() or None
    try:
        before = max(0, int(request.GET.get("before", ""))) or None
    except ValueError:
        before = None
    posts, older = post_feed_page(before_id=before, author_username=author)
    _receipt_extras(request, posts)
    return render(request, "feed/index.html", {
        "form": form, "posts": posts, "older": older, "author": author, "before": before, "zones": zone_choices(),
        "live_cursor": None if before else post_feed_cursor(now=request_now(request)), "oldest": posts[-1].id if posts else 0,
        **(context or {}),
    }, status=status)


def new_posts(request):
    """The live feed's poll: posts above `after` rendered with feed/_post.html (the page's own
    markup, in the viewer's zone), and the cursor for the next poll in data-cursor."""
    try:
        after = max(0, int(request.GET.get("after", "")))
    except ValueError:
        return HttpResponseBadRequest("after: give the data-cursor of the previous answer (a whole number).")
    author = request.GET.get("author", "").strip() or None
    posts, cursor = post_feed_after(after_id=after, author_username=author, now=request_now(request))
    _receipt_extras(request, posts)
    return render(request, "feed/_new_posts.html", {"posts": posts, "cursor": cursor})


def _receipt_extras(request, posts: list[Post]) -> None:
    """Sets each post's `receipt_extras`: what the apps above show under its receipt (the
    author's deliveries), asked once for the whole page."""
    for post in posts:
        post.receipt_extras = []
    if posts:
        by_id = {post.pk: post for post in posts}
        for _, answer in posts_rendering.send(sender=Post, posts=posts, request=request):
            for pk, markup in (answer or {}).items():
                if pk in by_id:
                    by_id[pk].receipt_extras.append(markup)
