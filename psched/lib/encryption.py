"""Secrets at rest (webhook signing secrets, app passwords, tokens): encrypted with Fernet keys
from PSCHED_SECRETS_KEYS. MultiFernet encrypts with the first key and decrypts with any, so a
new key goes first and the old one stays until secret_reencrypt has moved every row to it."""
import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """No configured key decrypts the stored secret (a key was dropped too early)."""


def development_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY, for when PSCHED_SECRETS_KEYS is unset."""
    digest = hashlib.sha256(f"psched secrets key:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "PSCHED_SECRETS_KEYS must be Fernet keys separated by commas: make one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None


def _keys() -> tuple[str, ...]:
    return tuple(settings.PSCHED_SECRETS_KEYS) or (development_key(settings.SECRET_KEY),)


def secret_encrypt(plain: str) -> str:
    return _fernet(_keys()).encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _decrypt(_keys(), token)


# Every try of a delivery reads its destination's secret: a burst to one destination decrypts
# the same token thousands of times (an HMAC check and an AES pass each). The keys are part of
# the cache key, so a token stops reading once its key is dropped.
@lru_cache(maxsize=1024)
def _decrypt(keys: tuple[str, ...], token: str) -> str:
    try:
        return _fernet(keys).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no key in PSCHED_SECRETS_KEYS decrypts this secret") from None


def secret_reencrypt(token: str) -> str:
    """The same secret under the first key (after a key rotation)."""
    try:
        return _fernet(_keys()).rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no key in PSCHED_SECRETS_KEYS decrypts this secret") from None


def secret_is_current(token: str) -> bool:
    """Whether the secret is already encrypted with the first (newest) key."""
    try:
        _fernet(_keys()[:1]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True
