from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from psched.lib.timeparse import zone_choices

from .forms import ProfileForm, SignupForm
from .services import user_set_timezone, user_timezone


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        messages.success(request, f"Welcome, {user.username}! Set your time zone on your profile.")
        return redirect("feed:index")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, initial={"timezone": user_timezone(user=request.user)})
    if request.method == "POST" and form.is_valid():
        user_set_timezone(user=request.user, timezone_name=form.cleaned_data["timezone"])
        messages.success(request, "Time zone saved.")
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form, "zones": zone_choices()})
