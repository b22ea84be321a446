from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.timesince import timeuntil
from django.views.decorators.http import require_POST

from feed.views import feed_page
from psched.lib.forms import add_service_errors
from psched.lib.timeparse import zone_choices, zone_get

from .forms import ScheduleComposeForm, ScheduledPostForm
from .models import ScheduledPost
from .selectors import scheduled_posts_history, scheduled_posts_upcoming, scheduled_posts_visible
from .services import Conflict, scheduled_post_cancel, scheduled_post_create, scheduled_post_retry, scheduled_post_update


@require_POST
def compose(request):
    """The "Schedule" button of the feed's compose form. Errors show on the feed page, next to
    the fields, as "Post now"'s do."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("feed:index"))
    form = ScheduleComposeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            post = scheduled_post_create(
                author=request.user, text=data["text"], publish_at=data["publish_at"], timezone_name=data["timezone"] or "UTC"
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            local = post.publish_at.astimezone(zone_get(post.timezone))
            note = f" {post.time_note}" if post.time_note else ""
            messages.success(
                request, f"Scheduled for {local:%Y-%m-%d %H:%M:%S} ({post.timezone}), in {timeuntil(post.publish_at)}.{note}"
            )
            return redirect("scheduling:mine")
    return feed_page(request, form)


@login_required
def mine(request):
    return render(request, "scheduling/mine.html", {
        "upcoming": scheduled_posts_upcoming(author=request.user),
        "history": scheduled_posts_history(author=request.user),
    })


@login_required
def edit(request, pk):
    post = get_object_or_404(scheduled_posts_visible(user=request.user), pk=pk, author=request.user)
    if not post.is_editable:
        messages.error(request, f"This post is {post.status}; it can no longer be changed.")
        return redirect("scheduling:mine")
    local = post.publish_at.astimezone(zone_get(post.timezone))
    form = ScheduledPostForm(request.POST or None, initial={
        "text": post.text, "publish_at": local.strftime("%Y-%m-%dT%H:%M:%S"), "timezone": post.timezone,
    })
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            post = scheduled_post_update(
                scheduled_post_id=pk, author=request.user,
                text=data["text"], publish_at=data["publish_at"], timezone_name=data["timezone"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as error:
            messages.error(request, str(error))
            return redirect("scheduling:mine")
        else:
            note = f" {post.time_note}" if post.time_note else ""
            messages.success(request, f"Saved. It will be published in {timeuntil(post.publish_at)}.{note}")
            return redirect("scheduling:mine")
    return render(request, "scheduling/edit.html", {"form": form, "post": post, "zones": zone_choices()})


@login_required
@require_POST
def cancel(request, pk):
    try:
        scheduled_post_cancel(scheduled_post_id=pk, author=request.user)
    except ScheduledPost.DoesNotExist:
        raise Http404("No such scheduled post.") from None
    except Conflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Cancelled.")
    return redirect("scheduling:mine")


@login_required
@require_POST
def retry(request, pk):
    # Staff may retry anyone's post (as in the API); others only their own.
    try:
        scheduled_post_retry(scheduled_post_id=pk, author=None if request.user.is_staff else request.user)
    except ScheduledPost.DoesNotExist:
        raise Http404("No such scheduled post.") from None
    except Conflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Queued again: it will be published as soon as possible.")
    return redirect("scheduling:mine")
