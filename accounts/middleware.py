from django.utils.functional import SimpleLazyObject

from .services import user_timezone


def user_zone_middleware(get_response):
    """Puts the viewer's IANA zone on the request as `request.user_zone` ("" when none is
    set), read from the profile on first use. The other apps' pages take the zone from here,
    so they need not import accounts (docs/architecture.md)."""

    def middleware(request):
        request.user_zone = SimpleLazyObject(lambda: user_timezone(user=request.user))
        return get_response(request)

    return middleware
