from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render

from accounts.services import viewer_timezone
from psched.forms import add_service_errors
from scheduling.services import scheduled_post_create
from scheduling.timeparse import zone_choices, zone_get

from .forms import ComposeForm
from .templatetags.psched import relative
from .selectors import post_feed_after, post_feed_cursor, post_feed_page
from .services import post_create


def index(request):
    zone, _ = viewer_timezone(request=request)
    form = ComposeForm(request.POST or None, initial={"timezone": zone})
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if form.is_valid():
            try:
                if form.cleaned_data["action"] == "schedule":
                    return _schedule(request, form.cleaned_data)
                post_create(author=request.user, text=form.cleaned_data["text"])
                messages.success(request, "Posted.")
                return redirect("feed:index")
            except ValidationError as error:
                add_service_errors(form, error, "text")
    author = request.GET.get("author", "").strip() or None
    try:
        before = max(0, int(request.GET.get("before", ""))) or None
    except ValueError:
        before = None
    posts, older = post_feed_page(before_id=before, author_username=author)
    return render(request, "feed/index.html", {
        "form": form, "posts": posts, "older": older, "author": author, "before": before, "zones": zone_choices(),
        "live_cursor": None if before else post_feed_cursor(), "oldest": posts[-1].id if posts else 0,
    })


def new_posts(request):
    """The live feed's poll: posts above `after` rendered with feed/_post.html (the page's own
    markup, in the viewer's zone), and the cursor for the next poll in data-cursor."""
    try:
        after = max(0, int(request.GET.get("after", "")))
    except ValueError:
        return HttpResponseBadRequest("after: give the data-cursor of the previous answer (a whole number).")
    posts, cursor = post_feed_after(after_id=after, author_username=request.GET.get("author", "").strip() or None)
    return render(request, "feed/_new_posts.html", {"posts": posts, "cursor": cursor})


def _schedule(request, data):
    post = scheduled_post_create(
        author=request.user, text=data["text"], publish_at=data["publish_at"], timezone_name=data["timezone"] or "UTC"
    )
    local = post.publish_at.astimezone(zone_get(post.timezone))
    note = f" {post.time_note}" if post.time_note else ""
    messages.success(request, f"Scheduled for {local:%Y-%m-%d %H:%M:%S} ({post.timezone}), {relative(post.publish_at)}.{note}")
    return redirect("scheduling:mine")
