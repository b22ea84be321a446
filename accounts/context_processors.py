from .services import user_timezone


def user_zone(request):
    """The viewer's IANA zone ("" when none is set); base.html shows every time in it."""
    user = getattr(request, "user", None)
    return {"user_zone": user_timezone(user=user) if user is not None else ""}
