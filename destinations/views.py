"""/destinations/: a user's destinations (add a webhook or a Bluesky account, send a test event,
pause, resume, remove, rotate a webhook's secret, give a Bluesky account a new app password).
A secret is shown once, on the page that answers its creation or rotation; an app password
never."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from psched.lib.errors import Conflict
from psched.lib.forms import add_service_errors

from .forms import AppPasswordForm, BlueskyForm, WebhookForm
from .models import Delivery, Destination
from .selectors import deliveries_by_post, destinations_overview
from .services import (
    destination_create,
    destination_delete,
    destination_rotate_secret,
    destination_secret_replace,
    destination_set_state,
    destination_test,
    delivery_retry,
)


def feed_posts_deliveries(*, posts, request, **signal) -> dict[int, str]:
    """Receives the feed's posts_rendering: under each of the viewer's own posts, its
    deliveries (only its author sees them). One query for the page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    own = [post.pk for post in posts if post.author_id == user.pk and post.scheduled_post_id]
    if not own:
        return {}
    found = deliveries_by_post(user=user, post_ids=own)
    return {
        pk: render_to_string("destinations/_deliveries.html", {"deliveries": deliveries}, request=request)
        for pk, deliveries in found.items()
    }


def _page(request, *, form=None, bluesky_form=None, secret="", secret_for=None, status=200):
    return render(request, "destinations/list.html", {
        "destinations": destinations_overview(user=request.user),
        "form": form or WebhookForm(),
        "bluesky_form": bluesky_form or BlueskyForm(),
        "password_form": AppPasswordForm(),
        "secret": secret,
        "secret_for": secret_for,
    }, status=status)


@login_required
def destination_list(request):
    return _page(request)


@login_required
@require_POST
def destination_add(request):
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            destination, secret = destination_create(
                owner=request.user, name=form.cleaned_data["name"], kind="webhook",
                config={"url": form.cleaned_data["url"]}, is_default=form.cleaned_data["is_default"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            # Rendered, not redirected: the secret is never stored where a reload could show it.
            return _page(request, secret=secret, secret_for=destination)
    return _page(request, form=form, status=400)


@login_required
@require_POST
def destination_add_bluesky(request):
    form = BlueskyForm(request.POST)
    if form.is_valid():
        values = form.cleaned_data
        try:
            destination, _ = destination_create(
                owner=request.user, name=values["name"], kind="bluesky", is_default=values["is_default"],
                config={"pds_url": values["pds_url"], "handle": values["handle"], "app_password": values["app_password"]},
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{destination.name}: logged in as @{destination.config['handle']}.")
            return redirect("destinations:list")
    return _page(request, bluesky_form=form, status=400)


@login_required
@require_POST
def destination_action(request, pk, action):
    destination = Destination.objects.filter(owner=request.user, pk=pk).first()
    if destination is None:
        messages.error(request, "No such destination of yours.")
        return redirect("destinations:list")
    try:
        if action == "test":
            outcome = destination_test(destination_id=pk, owner=request.user)
            if outcome.state == "delivered":
                messages.success(request, f"Test event delivered to {destination.name} ({outcome.status}).")
            else:
                messages.error(request, f"Test event to {destination.name} not delivered: {outcome.error}")
        elif action in ("pause", "resume"):
            state = Destination.State.PAUSED if action == "pause" else Destination.State.ACTIVE
            destination_set_state(destination_id=pk, owner=request.user, state=state)
            messages.success(request, f"{destination.name} is {state}.")
        elif action == "remove":
            destination_delete(destination_id=pk, owner=request.user)
            messages.success(request, f"{destination.name} removed; posts not yet published no longer go there.")
        elif action == "password":
            form = AppPasswordForm(request.POST)
            if form.is_valid():
                destination_secret_replace(destination_id=pk, owner=request.user, config=form.cleaned_data)
                messages.success(request, f"{destination.name}: the new app password works; posts that waited go now.")
            else:
                messages.error(request, "Give the new app password.")
        elif action == "rotate":
            destination, secret = destination_rotate_secret(destination_id=pk, owner=request.user)
            return _page(request, secret=secret, secret_for=destination)
    except (Conflict, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    return redirect("destinations:list")


@login_required
@require_POST
def delivery_retry_page(request, pk):
    try:
        delivery_retry(delivery_id=pk, user=request.user)
        messages.success(request, "The delivery will be sent again (with the same webhook-id).")
    except Conflict as error:
        messages.error(request, str(error))
    except Delivery.DoesNotExist:
        messages.error(request, "No such delivery of yours.")
    return redirect("scheduling:mine")
