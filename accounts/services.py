from django.contrib.auth import get_user_model

from .models import Profile


def user_timezone(*, user) -> str:
    if not user.is_authenticated:
        return ""
    profile = Profile.objects.filter(user=user).only("timezone").first()
    return profile.timezone if profile else ""


def user_set_timezone(*, user, timezone_name: str) -> Profile:
    profile, _ = Profile.objects.update_or_create(user=user, defaults={"timezone": timezone_name})
    return profile


def user_ensure(*, username: str, password: str, staff: bool = False):
    """Creates the user if missing (used by `make run` to give a first login)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": staff, "is_superuser": staff})
    if created:
        user.set_password(password)
        user.save()
    return user, created
