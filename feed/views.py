from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.timesince import timeuntil

from accounts.services import user_timezone
from psched.forms import add_service_errors
from scheduling.queue import queued_post_create, slot_describe
from scheduling.services import draft_create, scheduled_post_create
from scheduling.timeparse import zone_choices, zone_get

from .forms import ComposeForm
from .selectors import post_feed_page
from .services import post_create


def index(request):
    zone = user_timezone(user=request.user)
    # The calendar links here with a time to compose at: ?publish_at=<local>&timezone=<zone>.
    form = ComposeForm(request.POST or None, initial={
        "timezone": request.GET.get("timezone", "")[:64] or zone, "publish_at": request.GET.get("publish_at", "")[:32],
    })
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if form.is_valid():
            try:
                if form.cleaned_data["action"] == "schedule":
                    return _schedule(request, form.cleaned_data)
                if form.cleaned_data["action"] == "draft":
                    draft_create(author=request.user, text=form.cleaned_data["text"], timezone_name=zone or None)
                    messages.success(request, "Draft saved. Schedule or queue it from your drafts.")
                    return redirect("scheduling:mine")
                if form.cleaned_data["action"] == "queue":
                    post = queued_post_create(author=request.user, text=form.cleaned_data["text"])
                    messages.success(request, f"Queued for {slot_describe(instant=post.publish_at, zone_name=post.timezone)}.")
                    return redirect("scheduling:queue")
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
    })


def _schedule(request, data):
    post = scheduled_post_create(
        author=request.user, text=data["text"], publish_at=data["publish_at"], timezone_name=data["timezone"] or "UTC"
    )
    local = post.publish_at.astimezone(zone_get(post.timezone))
    note = f" {post.time_note}" if post.time_note else ""
    messages.success(request, f"Scheduled for {local:%Y-%m-%d %H:%M:%S} ({post.timezone}), in {timeuntil(post.publish_at)}.{note}")
    return redirect("scheduling:mine")
