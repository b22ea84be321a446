from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from psched.lib.db import RowRead

_token_read = RowRead(Token, related="user")


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication (`Authorization: Token <key>`), its read of the token and its
    user written out once: it runs on every API request, and the ORM's building of
    `Token.objects.select_related("user").get(key=…)` cost a third of a one-post intake."""

    def authenticate_credentials(self, key):
        token = _token_read(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
