from django.utils.functional import SimpleLazyObject

from .services import viewer_timezone


def user_zone_middleware(get_response):
    """Puts the viewer's IANA zone on the request as `request.user_zone` ("" for UTC): the
    profile's, else the browser's (its cookie); `request.user_zone_source` says which
    ("profile", "browser" or ""). Read on first use. The other apps' pages take the zone from
    here, so they need not import accounts (docs/architecture.md)."""

    def middleware(request):
        resolved = {}

        def resolve() -> dict:
            if not resolved:
                resolved["zone"], resolved["source"] = viewer_timezone(request=request)
            return resolved

        request.user_zone = SimpleLazyObject(lambda: resolve()["zone"])
        request.user_zone_source = SimpleLazyObject(lambda: resolve()["source"])
        return get_response(request)

    return middleware
