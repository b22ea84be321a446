"""Pages of the queue (/queue/) and of series (created and edited from /scheduled/)."""
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework.exceptions import Throttled

from accounts.forms import ProfileForm
from accounts.services import user_timezone
from feed.views import feed_page
from psched.lib.db import request_now
from psched.lib.errors import Conflict
from psched.lib.forms import add_service_errors
from psched.lib.timeparse import zone_choices, zone_get

from .forms import PlanComposeForm, QueueSlotForm, ScheduledPostForm, SeriesEditForm, SeriesForm, compose_extras
from .models import ScheduledPost, Series
from .queue import (
    queue_move,
    queue_posts,
    queue_share_now,
    queue_slots,
    queue_slots_replace,
    queue_zone,
    queue_zone_set,
    queued_post_create,
    slot_describe,
)
from .clashes import clash_notes, post_clash_warnings, series_clash_warnings
from .output import series_extensions
from .occurrences import occurrence_find, occurrence_restore, occurrence_skip, occurrence_update, occurrences_update_following
from .recurrence import rule_parse, series_next
from .series import series_create, series_stop, series_update
from .services import draft_create
from .throttling import admit_for, scheduling_wait, too_fast_text


def compose_page(request, form, status: int = 200):
    """The feed page around its compose form sent back with errors, the destinations as ticked."""
    return feed_page(request, form, status=status, context={
        "chosen_destinations": (compose_extras(request) or {}).get("destinations"),
    })


def _compose(request, create, page=compose_page):
    """The feed's compose form sent by "Save draft" or "Add to queue" (or the queue page's):
    `create(data)` makes the post and returns where to go; errors show on `page`, next to the
    fields."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("feed:index"))
    form = PlanComposeForm(request.POST)
    if form.is_valid():
        if (wait := scheduling_wait(request)) is not None:
            form.add_error("text", too_fast_text(wait))
            return page(request, form, status=429)
        try:
            return create(form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
    return page(request, form)


@require_POST
def compose_draft(request):
    def create(data):
        draft_create(
            author=request.user, text=data["text"], timezone_name=data["timezone"] or None, extras=compose_extras(request)
        )
        messages.success(request, "Draft saved. Schedule or queue it from your drafts.")
        return redirect("scheduling:mine")

    return _compose(request, create)


@require_POST
def compose_queue(request):
    def create(data):
        post = queued_post_create(
            author=request.user, text=data["text"], now=request_now(request), extras=compose_extras(request)
        )
        messages.success(request, f"Queued for {slot_describe(instant=post.publish_at, zone_name=post.timezone)}.")
        for note in clash_notes(post_clash_warnings(post)):
            messages.warning(request, note)
        return redirect("scheduling:queue")

    # The queue page's own form shows its errors on the queue page.
    return _compose(request, create, page=_queue_page if request.POST.get("page") == "queue" else compose_page)


def _slot_dicts(slots) -> list[dict]:
    return [{"weekday": slot.weekday, "time": slot.time.isoformat()} for slot in slots]


def _page_zone(request) -> str:
    """The zone the page says it shows (accounts.middleware): the profile's, else the browser's,
    else UTC. Forms start with it."""
    return str(getattr(request, "user_zone", "")) or "UTC"


@login_required
def queue_page(request):
    return _queue_page(request, PlanComposeForm(initial={"action": "queue"}))


def _queue_page(request, form, status: int = 200):
    """The queue page around its "Add to queue" form (with its errors, when it was refused)."""
    # Slots are wall-clock times read in the profile's zone, else UTC (the API has no browser).
    # Without a profile zone the page offers to keep the browser's; with no slot yet, it shows
    # slots in that zone, and adding one keeps it.
    slot_zone, page_zone = queue_zone(user=request.user), _page_zone(request)
    slots = queue_slots(user=request.user)
    zone_kept = bool(user_timezone(user=request.user))
    zone = slot_zone if zone_kept or slots else page_zone
    posts = list(queue_posts(user=request.user)[:500])
    for post in posts:
        post.slot = slot_describe(instant=post.publish_at, zone_name=page_zone)
    return render(request, "scheduling/queue.html", {
        "slots": slots, "posts": posts, "zone": zone, "zone_kept": zone_kept,
        "zone_offer": "" if zone_kept or page_zone == "UTC" else page_zone,
        "slot_form": QueueSlotForm(initial={"timezone": zone}), "form": form,
        "chosen_destinations": (compose_extras(request) or {}).get("destinations"),
    }, status=status)


def _keep_zone(request, zone_name: str) -> bool:
    """Keeps the page's zone on the profile (slots need a zone that lasts). False when the name
    is not a zone."""
    form = ProfileForm({"timezone": zone_name})
    if not form.is_valid() or not form.cleaned_data["timezone"]:
        return False
    queue_zone_set(user=request.user, zone_name=form.cleaned_data["timezone"], now=request_now(request))
    return True


@login_required
@require_POST
def queue_zone_keep(request):
    """"Keep it for your slots": the zone the queue page showed becomes the profile's."""
    if _keep_zone(request, request.POST.get("timezone", "")):
        messages.success(request, f"Time zone saved: {user_timezone(user=request.user)}. Your slots are read in it.")
    else:
        messages.error(request, "That is not a time zone: pick one on your profile page.")
    return redirect("scheduling:queue")


@login_required
@require_POST
def slot_add(request):
    form = QueueSlotForm(request.POST)
    if form.is_valid() and not user_timezone(user=request.user) and form.cleaned_data["timezone"] not in ("", "UTC"):
        # The slot was typed on a page that showed this zone: it is read in it from now on.
        _keep_zone(request, form.cleaned_data["timezone"])
    slots = _slot_dicts(queue_slots(user=request.user))
    if form.is_valid():
        slots.append({"weekday": form.cleaned_data["weekday"], "time": form.cleaned_data["time"]})
        try:
            queue_slots_replace(user=request.user, slots=slots, now=request_now(request))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Slot added ({queue_zone(user=request.user)}); your queued posts were re-placed.")
    else:
        messages.error(request, " ".join(message for errors in form.errors.values() for message in errors))
    return redirect("scheduling:queue")


@login_required
@require_POST
def slot_remove(request, slot_id):
    slots = [slot for slot in queue_slots(user=request.user) if slot.pk != slot_id]
    queue_slots_replace(user=request.user, slots=_slot_dicts(slots), now=request_now(request))
    messages.success(request, "Slot removed; your queued posts were re-placed.")
    return redirect("scheduling:queue")


@login_required
@require_POST
def queue_move_view(request, pk, direction):
    try:
        queue_move(user=request.user, scheduled_post_id=pk, direction=direction)
    except (Conflict, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    return redirect("scheduling:queue")


@login_required
@require_POST
def queue_share_now_view(request, pk):
    get_object_or_404(ScheduledPost, pk=pk, author=request.user)
    try:
        queue_share_now(user=request.user, scheduled_post_id=pk, now=request_now(request))
    except Conflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Sharing it now.")
    return redirect("scheduling:queue")


@login_required
def series_new(request):
    form = SeriesForm(request.POST or None, initial={"timezone": _page_zone(request)})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            start = datetime.fromisoformat(data["start"])
        except ValueError:
            start = None  # the service says what is wrong with it
        rule = form.rrule_text(start.weekday() if start else None, start.day if start else None)
        try:
            series = series_create(
                author=request.user, text=data["text"], start=data["start"], timezone_name=data["timezone"], rrule_text=rule,
                admit=admit_for(request), now=request_now(request), extras=compose_extras(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except Throttled as error:
            form.add_error(None, str(error.detail))
            status = 429
        else:
            upcoming = series_next(series=series, limit=1, now=request_now(request))
            first = f" The first is {upcoming[0].local:%a %Y-%m-%d %H:%M} {series.timezone}." if upcoming else ""
            messages.success(request, f"Series #{series.pk} created ({series.rrule}).{first}")
            for note in clash_notes(series_clash_warnings(series=series, occurrences=series_next(series=series, now=request_now(request)))):
                messages.warning(request, note)
            return redirect("scheduling:mine")
    return render(request, "scheduling/series_form.html", {
        "form": form, "zones": zone_choices(), "chosen_destinations": (compose_extras(request) or {}).get("destinations"),
    }, status=status)


@login_required
def series_edit(request, pk):
    series = get_object_or_404(Series, pk=pk, author=request.user)
    form = SeriesEditForm(request.POST or None, initial={"text": series.text, "rrule": series.rrule})
    status = 200
    # The apps above's choices (destinations: "Also send to"), as on the compose form.
    extras = compose_extras(request) if request.method == "POST" else None
    chosen = extras["destinations"] if extras else series_extensions([series])[series.pk]["destinations"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            series_update(
                series_id=pk, author=request.user, text=data["text"],
                rrule_text=data["rrule"] if data["rrule"].strip().upper() != series.rrule else None,
                admit=admit_for(request), now=request_now(request), extras=extras,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except Throttled as error:
            form.add_error(None, str(error.detail))
            status = 429
        except Conflict as error:
            messages.error(request, str(error))
            return redirect("scheduling:mine")
        else:
            messages.success(request, f"Series #{pk} saved; occurrences not yet published follow it.")
            return redirect("scheduling:mine")
    return render(request, "scheduling/series_edit.html", {
        "form": form, "series": series, "chosen_destinations": chosen,
    }, status=status)


@login_required
@require_POST
def series_stop_view(request, pk):
    get_object_or_404(Series, pk=pk, author=request.user)
    cancelled = series_stop(series_id=pk, author=request.user)
    messages.success(request, f"Series #{pk} stopped; {cancelled} pending occurrence{'s' if cancelled != 1 else ''} cancelled.")
    return redirect("scheduling:mine")


# --- one occurrence of a series -------------------------------------------------------------

def occurrence_apply(*, request, series: Series, index: int, scope: str, text, publish_at, timezone_name):
    """Saves an occurrence's edit ("this" or "following") and says so; returns the new series
    for "following", else the post."""
    now = request_now(request)
    if scope == "following":
        continuing = occurrences_update_following(series_id=series.pk, index=index, author=request.user, text=text,
                                                  publish_at=publish_at, timezone_name=timezone_name, now=now)
        messages.success(request, f"Series #{series.pk} now ends before occurrence {index}; series #{continuing.pk} "
                                  f"continues it from there ({continuing.rrule}).")
        for note in clash_notes(series_clash_warnings(series=continuing, occurrences=series_next(series=continuing, now=now))):
            messages.warning(request, note)
        return continuing
    post = occurrence_update(series_id=series.pk, index=index, author=request.user, text=text,
                             publish_at=publish_at, timezone_name=timezone_name, now=now)
    messages.success(request, f"Occurrence {index} of series #{series.pk} is a post of its own now (#{post.pk}); "
                              "the series leaves it alone.")
    for note in clash_notes(post_clash_warnings(post)):
        messages.warning(request, note)
    return post


def occurrence_form_save(request, form, **changes):
    """occurrence_apply for a form: a redirect to /scheduled/ once saved (or refused because the
    series was stopped meanwhile); None when the form has the errors to show."""
    try:
        occurrence_apply(request=request, **changes)
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    except Conflict as error:
        messages.error(request, str(error))
    return redirect("scheduling:mine")


@login_required
def occurrence_edit(request, pk, index):
    """One occurrence, made into a post yet or not: its text and time, for only this one or
    for this and the following ones."""
    series = get_object_or_404(Series, pk=pk, author=request.user)
    try:
        occurrence = occurrence_find(series=series, rule=rule_parse(series.rrule), index=index)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("scheduling:mine")
    post = ScheduledPost.objects.filter(series=series, series_index=index).exclude(status=ScheduledPost.Status.CANCELLED).first()
    text = post.text if post else series.text
    at = post.publish_at.astimezone(zone_get(post.timezone)) if post else occurrence.instant.astimezone(zone_get(series.timezone))
    zone = post.timezone if post else series.timezone
    form = ScheduledPostForm(request.POST or None, initial={
        "text": text, "publish_at": at.strftime("%Y-%m-%dT%H:%M:%S"), "timezone": zone, "scope": "this",
    })
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        moved = data["publish_at"] != at.strftime("%Y-%m-%dT%H:%M:%S") or data["timezone"] != zone
        done = occurrence_form_save(request, form, series=series, index=index, scope=data["scope"] or "this",
                                    text=data["text"] if data["text"] != text or not moved else None,
                                    publish_at=data["publish_at"] if moved else None,
                                    timezone_name=data["timezone"] if moved else None)
        if done:
            return done
    return render(request, "scheduling/edit.html", {
        "form": form, "post": post, "zones": zone_choices(), "submit": "Save",
        "heading": f"Edit occurrence {index} of series #{series.pk}",
        "scope_choice": {"index": index, "series": series.pk},
    })


def _occurrence_action(request, pk, index, service, done: str):
    get_object_or_404(Series, pk=pk, author=request.user)
    try:
        service(series_id=pk, index=index, author=request.user, now=request_now(request))
    except (ValidationError, Conflict) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, f"Occurrence {index} of series #{pk} {done}.")
    return redirect(reverse("scheduling:mine") + f"#series-{pk}")


@login_required
@require_POST
def occurrence_skip_view(request, pk, index):
    return _occurrence_action(request, pk, index, occurrence_skip, "skipped; restore it from here while it is ahead")


@login_required
@require_POST
def occurrence_restore_view(request, pk, index):
    return _occurrence_action(request, pk, index, occurrence_restore, "restored")
