from django.contrib.auth import get_user_model

from psched.lib.timeparse import zone_names

from .models import Profile


def user_timezone(*, user) -> str:
    if not user.is_authenticated:
        return ""
    profile = Profile.objects.filter(user=user).only("timezone").first()
    return profile.timezone if profile else ""


# Set by static/psched/site.js to the browser's IANA zone, so pages can be rendered in it.
BROWSER_ZONE_COOKIE = "psched_zone"


def viewer_timezone(*, request) -> tuple[str, str]:
    """The zone every time on a page is shown in, and where it came from: the profile's zone
    ("profile"), else the browser's, sent in a cookie ("browser"), else ("", "") for UTC."""
    zone = user_timezone(user=request.user) if hasattr(request, "user") else ""
    if zone:
        return zone, "profile"
    cookie = request.COOKIES.get(BROWSER_ZONE_COOKIE, "")
    if cookie in zone_names():
        return cookie, "browser"
    return "", ""


def user_set_timezone(*, user, timezone_name: str) -> Profile:
    profile, _ = Profile.objects.update_or_create(user=user, defaults={"timezone": timezone_name})
    return profile


def user_language(*, user) -> str:
    """The language tag of the user's posts ("" when not given)."""
    profile = Profile.objects.filter(user=user).only("language").first()
    return profile.language if profile else ""


def user_set_language(*, user, language: str) -> Profile:
    profile, _ = Profile.objects.update_or_create(user=user, defaults={"language": language})
    return profile


def user_ensure(*, username: str, password: str, staff: bool = False):
    """Creates the user if missing (used by `make run` to give a first login)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": staff, "is_superuser": staff})
    if created:
        user.set_password(password)
        user.save()
    return user, created
