def user_zone(request):
    """The viewer's IANA zone ("" when none is set); base.html shows every time in it."""
    return {"user_zone": str(getattr(request, "user_zone", ""))}
