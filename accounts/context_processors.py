def user_zone(request):
    """The viewer's IANA zone ("" for UTC) and its source ("profile", "browser" or ""), as
    accounts.middleware found them: base.html shows every time of the page in that zone."""
    return {
        "user_zone": str(getattr(request, "user_zone", "")),
        "user_zone_source": str(getattr(request, "user_zone_source", "")),
    }
