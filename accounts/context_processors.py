from .services import viewer_timezone


def user_zone(request):
    """The viewer's IANA zone ("" for UTC) and its source ("profile", "browser" or ""):
    base.html shows every time of the page in it."""
    zone, source = viewer_timezone(request=request)
    return {"user_zone": zone, "user_zone_source": source}
