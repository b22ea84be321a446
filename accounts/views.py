from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from psched.lib.timeparse import zone_choices

from .forms import ProfileForm, SignupForm
from .services import user_language, user_set_language, user_set_timezone, user_timezone


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        messages.success(request, format_html(
            'Welcome, {}! <a href="{}">Set your time zone</a> on your profile.', user.username, reverse("profile"),
        ))
        return redirect("feed:index")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, initial={
        "timezone": user_timezone(user=request.user), "language": user_language(user=request.user),
    })
    if request.method == "POST" and form.is_valid():
        user_set_timezone(user=request.user, timezone_name=form.cleaned_data["timezone"])
        # The "save your browser's zone" offer of other pages posts the zone alone.
        if "language" in request.POST:
            user_set_language(user=request.user, language=form.cleaned_data["language"])
        messages.success(request, f"Time zone saved: {form.cleaned_data['timezone'] or 'UTC'}.")
        # The "save your browser's zone" offer on any page comes back to that page.
        next_url = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            return redirect(next_url)
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form, "zones": zone_choices()})
