from datetime import date, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from psched.lib.db import request_now
from psched.lib.durations import relative_text
from psched.lib.errors import Conflict
from psched.lib.forms import add_service_errors
from psched.lib.timeparse import zone_choices, zone_get

from . import calendar as cal
from .output import scheduled_posts_extensions
from .clashes import clash_notes, clash_window, post_clash_warnings
from .forms import ScheduleComposeForm, ScheduledPostForm, compose_extras
from .models import ScheduledPost
from .planning_views import compose_page, occurrence_form_save
from .queue import scheduled_post_enqueue, slot_describe
from .selectors import (
    scheduled_posts_drafts,
    scheduled_posts_history,
    scheduled_posts_upcoming,
    scheduled_posts_visible,
    series_overview,
)
from .services import scheduled_post_cancel, scheduled_post_create, scheduled_post_retry, scheduled_post_update
from .throttling import scheduling_wait, too_fast_text


CALENDAR_ZONE_COOKIE = "psched_tz"

@require_POST
def compose(request):
    """The "Schedule" button of the feed's compose form. Errors show on the feed page, next to
    the fields, as "Post now"'s do."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("feed:index"))
    form = ScheduleComposeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        if (wait := scheduling_wait(request)) is not None:
            form.add_error("text", too_fast_text(wait))
            return compose_page(request, form, status=429)
        try:
            post = scheduled_post_create(
                author=request.user, text=data["text"], publish_at=data["publish_at"], timezone_name=data["timezone"] or "UTC",
                extras=compose_extras(request),
                now=request_now(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            local = post.publish_at.astimezone(zone_get(post.timezone))
            note = f" {post.time_note}" if post.time_note else ""
            messages.success(
                request, f"Scheduled for {local:%Y-%m-%d %H:%M:%S} ({post.timezone}), {relative_text(post.publish_at, request_now(request))}.{note}"
            )
            clashes_tell(request, post)
            return redirect("scheduling:mine")
    return compose_page(request, form)


@login_required
def mine(request):
    history = list(scheduled_posts_history(author=request.user))
    # What the apps above add (destinations: each post's deliveries, for its receipt).
    extensions = scheduled_posts_extensions(history)
    for post in history:
        post.delivery_rows = extensions[post.pk].get("delivery_rows", [])
    now = request_now(request)
    return render(request, "scheduling/mine.html", {
        "now": now,
        "upcoming": scheduled_posts_upcoming(author=request.user),
        "drafts": scheduled_posts_drafts(author=request.user),
        "series_list": series_overview(author=request.user, now=now),
        "history": history,
    })


@login_required
def edit(request, pk):
    post = get_object_or_404(scheduled_posts_visible(user=request.user), pk=pk, author=request.user)
    if not post.is_editable:
        messages.error(request, f"This post is {post.status}; it can no longer be changed.")
        return redirect("scheduling:mine")
    local = post.publish_at.astimezone(zone_get(post.timezone)) if post.publish_at else None  # a draft has none
    form = ScheduledPostForm(request.POST or None, initial={
        "text": post.text, "publish_at": local.strftime("%Y-%m-%dT%H:%M:%S") if local else "", "timezone": post.timezone,
        "scope": "this",
    })
    # An occurrence the series still governs: only this one, or this and the following ones.
    governed = post.series_id is not None and post.series_index is not None and not post.series_detached
    scope_choice = {"index": post.series_index, "series": post.series_id} if governed else None
    # The apps above's choices (destinations: "Also send to"), as on the compose form.
    extras = compose_extras(request) if request.method == "POST" else None
    chosen = extras["destinations"] if extras else scheduled_posts_extensions([post])[post.pk]["destinations"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        action = data["action"] or "save"
        # An unchanged time is left alone: parsing it again would take the first occurrence of a
        # DST fold and move a post at the second one by an hour.
        moved = local is None or not _same_time(data, local)
        if governed and data["scope"] == "following" and action == "save":
            done = occurrence_form_save(request, form, series=post.series, index=post.series_index, scope="following",
                                        text=data["text"], publish_at=data["publish_at"] if moved else None,
                                        timezone_name=data["timezone"] if moved else None)
            return done or _edit_page(request, form, post, scope_choice, chosen)
        try:
            if action == "queue":
                post = scheduled_post_enqueue(
                    scheduled_post_id=pk, author=request.user, text=data["text"], extras=extras, now=request_now(request)
                )
                messages.success(request, f"Queued for {slot_describe(instant=post.publish_at, zone_name=post.timezone)}.")
                clashes_tell(request, post)
                return redirect("scheduling:queue")
            if action == "draft" and post.status == ScheduledPost.Status.DRAFT:
                scheduled_post_update(scheduled_post_id=pk, author=request.user, text=data["text"], extras=extras)
                messages.success(request, "Draft saved.")
                return redirect("scheduling:mine")
            post = scheduled_post_update(
                scheduled_post_id=pk, author=request.user, text=data["text"],
                publish_at=data["publish_at"] if moved else None, timezone_name=data["timezone"] if moved else None,
                extras=extras,
                now=request_now(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as error:
            messages.error(request, str(error))
            return redirect("scheduling:mine")
        else:
            note = f" {post.time_note}" if post.time_note else ""
            messages.success(request, f"Saved. It will be published {relative_text(post.publish_at, request_now(request))}.{note}")
            clashes_tell(request, post)
            return redirect("scheduling:mine")
    return _edit_page(request, form, post, scope_choice, chosen)


def _edit_page(request, form, post, scope_choice, chosen):
    # A draft's page is "Edit draft" with Schedule, Save draft and Add to queue (the template's own).
    draft = post.status == ScheduledPost.Status.DRAFT
    return render(request, "scheduling/edit.html", {
        "form": form, "post": post, "zones": zone_choices(),
        "heading": "" if draft else "Edit scheduled post", "submit": "" if draft else "Save",
        "scope_choice": scope_choice, "chosen_destinations": chosen,
    })


def clashes_tell(request, post: ScheduledPost) -> None:
    """A note on the result page for each post it clashes with (scheduling succeeded)."""
    for note in clash_notes(post_clash_warnings(post)):
        messages.warning(request, note)


def _calendar_deliveries(posts: list[dict]) -> None:
    """Gives each published post of the calendar its `deliveries` (what the apps above add:
    destinations' Delivery rows), asked once for them all."""
    published = [post for post in posts if post["status"] == ScheduledPost.Status.PUBLISHED]
    if not published:
        return
    extensions = scheduled_posts_extensions([ScheduledPost(pk=post["id"], status=post["status"]) for post in published])
    for post in published:
        post["deliveries"] = extensions[post["id"]].get("delivery_rows", [])


def _same_time(data: dict, local: datetime) -> bool:
    """Whether the form's local time and zone are the post's own (local, aware in its zone)."""
    try:
        written = datetime.fromisoformat(data["publish_at"].strip())
    except ValueError:
        return False
    return written.tzinfo is None and written == local.replace(tzinfo=None) and data["timezone"].strip() == local.tzinfo.key


@login_required
def duplicate(request, pk):
    """A new scheduled post from a published, failed or cancelled one ("Duplicate", "Reschedule"):
    the form starts with its text and zone, and with its time while that is still ahead."""
    post = get_object_or_404(scheduled_posts_visible(user=request.user), pk=pk, author=request.user)
    ahead = post.publish_at is not None and post.publish_at > request_now(request)  # a draft has no time
    form = ScheduledPostForm(request.POST or None, initial={
        "text": post.text, "timezone": post.timezone,
        "publish_at": post.publish_at.astimezone(zone_get(post.timezone)).strftime("%Y-%m-%dT%H:%M:%S") if ahead else "",
    })
    if request.method == "POST" and form.is_valid() and not _too_fast(request, form):
        data = form.cleaned_data
        try:
            copy = scheduled_post_create(
                author=request.user, text=data["text"], publish_at=data["publish_at"], timezone_name=data["timezone"],
                now=request_now(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            note = f" {copy.time_note}" if copy.time_note else ""
            messages.success(request, f"Scheduled again: it will be published {relative_text(copy.publish_at, request_now(request))}.{note}")
            clashes_tell(request, copy)
            return redirect("scheduling:mine")
    action = "Duplicate" if post.status == ScheduledPost.Status.PUBLISHED else "Reschedule"
    return render(request, "scheduling/edit.html", {
        "form": form, "post": post, "zones": zone_choices(), "heading": f"{action} a post", "submit": "Schedule",
    }, status=429 if getattr(form, "too_fast", False) else 200)


def _too_fast(request, form) -> bool:
    """Counts one post against the scheduling rate (as the API does); over it, the form says
    how long to wait and the page answers 429."""
    wait = scheduling_wait(request)
    if wait is None:
        return False
    form.add_error(None, too_fast_text(wait))
    form.too_fast = True
    return True


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request, pk):
    """GET asks to confirm (cancelling cannot be undone; Reschedule makes a new post); POST cancels."""
    if request.method == "GET":
        post = get_object_or_404(scheduled_posts_visible(user=request.user), pk=pk, author=request.user)
        if not post.is_editable:
            messages.error(request, f"This post is {post.status}; it can no longer be cancelled.")
            return redirect("scheduling:mine")
        return render(request, "scheduling/confirm_cancel.html", {"post": post})
    try:
        post = scheduled_post_cancel(scheduled_post_id=pk, author=request.user)
    except ScheduledPost.DoesNotExist:
        raise Http404("No such scheduled post.") from None
    except Conflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Draft deleted." if post.status == ScheduledPost.Status.DRAFT else "Cancelled.")
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


def _calendar_zone(request) -> tuple[str, str]:
    """The zone the calendar is drawn in, and where it came from: the viewer's zone (the
    profile's, else the browser's `psched_zone` cookie), else a `tz` parameter or the cookie
    calendar.js sets, else UTC."""
    viewer_zone = str(getattr(request, "user_zone", ""))  # accounts.middleware sets it
    if viewer_zone:
        source = str(getattr(request, "user_zone_source", ""))
        return viewer_zone, "profile" if source == "profile" else "browser"
    for candidate in (request.GET.get("tz"), request.COOKIES.get(CALENDAR_ZONE_COOKIE)):
        if candidate:
            try:
                return zone_get(candidate).key, "browser"
            except ValidationError:
                continue  # a stale or forged value: fall through to the next source
    return "UTC", "default"


@login_required
def calendar(request):
    zone_name, zone_source = _calendar_zone(request)
    zone = zone_get(zone_name)
    now = request_now(request)  # the database clock: "today", the slots and series still to come
    today = now.astimezone(zone).date()
    errors = {}
    view = request.GET.get("view") or "week"
    if view not in cal.VIEWS:
        errors["view"] = f"Unknown view {view[:20]!r}: use day, week or month."
        view = "week"
    try:
        day = date.fromisoformat(request.GET["date"]) if request.GET.get("date") else today
    except ValueError:
        errors["date"] = f"{request.GET['date'][:20]!r} is not a date: write it as YYYY-MM-DD."
        day = today
    if not date(2, 1, 1) <= day <= date(9998, 12, 31):
        errors["date"] = "That date is out of range: pick one between the years 2 and 9998."
        day = today
    with_cancelled = request.GET.get("cancelled") == "1"
    context = {
        "view": view, "day": day, "today": today, "zone": zone_name, "zone_source": zone_source,
        "with_cancelled": with_cancelled, "errors": errors, "now": now,
        "compose_url": reverse("feed:index"),
    }
    if view == "month":
        grid = cal.month_grid(day, zone)
        previous, following = cal.month_step(day, -1), cal.month_step(day, 1)
        cells = list(grid.days())
        now_local = now.astimezone(zone)
        for cell in cells:
            # "+" on a day composes at 09:00, or today at the next hour.
            if cell.day > today:
                cell.compose_value = f"{cell.day:%Y-%m-%d}T09:00"
            elif cell.day == today and now_local.hour < 23:
                cell.compose_value = f"{cell.day:%Y-%m-%d}T{now_local.hour + 1:02d}:00"
        context.update(grid=grid, title=f"{grid.first:%B %Y}")
    else:
        if view == "week":
            grid = cal.week_grid(day, zone)
            previous, following = day - timedelta(days=7), day + timedelta(days=7)
            title = f"Week of {grid.days[0].day:%a %d %b %Y}"
        else:
            grid = cal.hours_grid(day, 1, zone)
            previous, following = day - timedelta(days=1), day + timedelta(days=1)
            title = f"{day:%A %d %B %Y}"
        cells = sorted(grid.cells(), key=lambda cell: cell.start)
        context.update(grid=grid, title=title)
        if not cells:
            context["skipped"] = f"{day:%A %d %B %Y} did not happen in {zone_name}: the clocks skipped the whole day."
    limit = None if view == "day" else cal.CELL_LIMIT
    posts = cal.calendar_posts(author=request.user, cells=cells, with_cancelled=with_cancelled)
    _calendar_deliveries(posts)
    drafts = cal.place_posts(cells=cells, posts=posts, zone=zone)
    cal.queue_slot_placeholders(user=request.user, cells=cells, posts=posts, now=now)
    cal.series_placeholders(user=request.user, cells=cells, now=now)
    cal.clashes_mark(cells=cells, window=clash_window())
    more = "&cancelled=1" if with_cancelled else ""
    cal.cells_html(cells, zone=zone, limit=limit, more_url=lambda cell: f"?view=day&date={cell.day:%Y-%m-%d}{more}")
    context.update(
        previous=previous, following=following, count=len(posts) - len(drafts),
        drafts=mark_safe("".join(cal.post_chip(post, zone=zone) for post in drafts)), drafts_count=len(drafts),
    )
    return render(request, "scheduling/calendar.html", context, status=400 if errors else 200)
