import copy
import time

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from psched.lib.db import RowRead

_token_read = RowRead(Token, related="user")

# Tokens this process read in the last PSCHED_TOKEN_CACHE_SECONDS: {key: (monotonic deadline,
# the token with its user)}. An API client sends one request after another with the same key;
# reading it again for each was one of the three database round trips of a one-post intake.
# What is read again only after the deadline: a token deleted, or its user deactivated, in
# another process (this process forgets at once: tokens_forget).
_recent: dict[str, tuple[float, Token]] = {}
RECENT_MAX = 10_000


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication (`Authorization: Token <key>`), its read of the token and its
    user written out once: it runs on every API request, and the ORM's building of
    `Token.objects.select_related("user").get(key=…)` cost a third of a one-post intake. A key
    that was valid a moment ago is taken from this process's memory (see _recent); an unknown
    key is read every time."""

    def authenticate_credentials(self, key):
        seconds = settings.PSCHED_TOKEN_CACHE_SECONDS
        now = time.monotonic()
        recent = _recent.get(key) if seconds else None
        if recent is not None and recent[0] > now:
            token = recent[1]
        else:
            token = _token_read(key)
            if token is None:
                raise exceptions.AuthenticationFailed(_("Invalid token."))
            if seconds:
                if len(_recent) >= RECENT_MAX:
                    _recent.clear()
                _recent[key] = (now + seconds, token)
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # A copy: what a request does to its user (a view setting an attribute) stays in it.
        return copy.copy(token.user), token


def tokens_forget(*, user_id: int | None = None, key: str | None = None, **signal) -> None:
    """This process forgets a token (post_delete of a Token) or a user's tokens (post_save or
    post_delete of a user: deactivated, removed)."""
    if key is not None:
        _recent.pop(key, None)
    if user_id is not None:
        for cached, (_, token) in list(_recent.items()):
            if token.user_id == user_id:
                _recent.pop(cached, None)
