"""Posting to Bluesky (the AT Protocol) exactly once, with the `atproto` SDK.

A post is an `app.bsky.feed.post` record in the author's repository under a record key of
our choosing. The key (a TID) is derived from the delivery before the first try
(`record_key`), and every try sends `com.atproto.repo.putRecord` with `"swapRecord": null`:
the PDS creates the record when the key is free, answers the same CID and writes nothing when
the identical record is there already, and refuses (400 InvalidSwap) a different record under
that key. So a retry after a lost answer cannot post twice, as long as it sends the same
record: the record is built once (`post_record`) and kept, and its JSON is serialized the same
way every time (`record_json`). After an unknown outcome `BlueskyClient.get_post` reads the
key back to tell whether the post exists.

Why not createRecord: with a key that exists it answers a generic HTTP 500 (so does
applyWrites' create), which a client cannot tell from a crash. Why not the SDK's typed
`put_record`: it drops fields that are None, so the swap guard would be lost and a retry would
overwrite. The call goes through `invoke_procedure` with the JSON written here.
"""
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import regex
from atproto import Client
from atproto_client.exceptions import (
    BadRequestError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.models import ComAtprotoRepoGetRecord
from atproto_client.models.utils import get_model_as_dict
from atproto_client.request import Request

POST_COLLECTION = "app.bsky.feed.post"
# app.bsky.feed.post's text: at most 300 graphemes and 3000 bytes of UTF-8.
GRAPHEME_LIMIT = 300
BYTE_LIMIT = 3000
DEFAULT_PDS_URL = "https://bsky.social"

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_GRAPHEME = regex.compile(r"\X")


# --- text ---------------------------------------------------------------------------------
def grapheme_count(text: str) -> int:
    """User-perceived characters (Unicode extended grapheme clusters), as Bluesky counts them:
    a flag, a family emoji or an accented letter made of several code points counts once."""
    return len(_GRAPHEME.findall(text))


def text_problem(text: str) -> str | None:
    """Why Bluesky would refuse this text as a post, in words for its author; None if it fits."""
    count = grapheme_count(text)
    if count > GRAPHEME_LIMIT:
        return f"Bluesky takes at most {GRAPHEME_LIMIT} characters; this text has {count}. Shorten it by {count - GRAPHEME_LIMIT}."
    if len(text.encode()) > BYTE_LIMIT:
        return f"Bluesky takes at most {BYTE_LIMIT} bytes of text; this text has {len(text.encode())}. Shorten it."
    return None


# --- record keys and records ------------------------------------------------------------
def record_key(*, instant: datetime, delivery_id: int) -> str:
    """The TID record key of a delivery: 53 bits of microseconds since the epoch and a 10-bit
    clock id, in base32-sortable. The clock id is the delivery id modulo 1024 and the rest of
    the id is added to the microseconds, so deliveries created at the same instant (one
    transaction) never share a key, and a delivery's key never changes."""
    micros = int(instant.timestamp()) * 1_000_000 + instant.microsecond + (delivery_id >> 10)
    value = (micros << 10) | (delivery_id & 0x3FF)
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def record_key_instant(key: str) -> datetime:
    """The instant a TID record key carries (to the microsecond)."""
    value = 0
    for char in key:
        value = value * 32 + _TID_ALPHABET.index(char)
    micros = value >> 10
    return datetime.fromtimestamp(micros // 1_000_000, tz=timezone.utc).replace(microsecond=micros % 1_000_000)


def post_record(*, text: str, created_at: datetime, langs: list[str] = (), facets: list[dict] = ()) -> dict:
    """The app.bsky.feed.post record. Build it once and keep it: a retry must send the very same
    record (the same createdAt above all), or the PDS refuses it as another record."""
    record = {
        "$type": POST_COLLECTION,
        "text": text,
        "createdAt": created_at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if langs:
        record["langs"] = list(langs)
    if facets:
        record["facets"] = list(facets)
    return record


def record_json(body: dict) -> bytes:
    """One serialization for every try: the same record gives the same bytes."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# --- answers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateLimit:
    """The PDS's `ratelimit-*` answer headers: the budget of the policy that applied."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    policy: str | None

    @classmethod
    def from_headers(cls, headers) -> "RateLimit | None":
        headers = {key.lower(): value for key, value in (headers or {}).items()}
        if "ratelimit-remaining" not in headers:
            return None

        def number(name):
            try:
                return int(headers[name])
            except (KeyError, ValueError):
                return None

        reset = number("ratelimit-reset")
        return cls(
            limit=number("ratelimit-limit"),
            remaining=number("ratelimit-remaining"),
            reset_at=datetime.fromtimestamp(reset, tz=timezone.utc) if reset is not None else None,
            policy=headers.get("ratelimit-policy"),
        )

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


@dataclass(frozen=True)
class Written:
    """A post that is in the repository: its at:// URI and CID."""

    uri: str
    cid: str
    rate_limit: RateLimit | None = None


class BlueskyError(Exception):
    """Every failure of this module; `str()` is meant for the destination's owner."""


class LoginRefused(BlueskyError):
    """The PDS refused the handle and app password: wrong, or revoked since. Only its owner can fix it."""


class Unavailable(BlueskyError):
    """The PDS could not be reached or failed before acting: nothing was written; try again later."""


class OutcomeUnknown(Unavailable):
    """A write was sent and no answer came back (timeout, reset, 5xx): it may have been applied.
    Read the key back (`get_post`) or send the same record again."""


class RateLimited(Unavailable):
    """429: the PDS applied nothing; `not_before` is when its budget resets."""

    def __init__(self, message: str, rate_limit: RateLimit | None, not_before: datetime | None):
        super().__init__(message)
        self.rate_limit = rate_limit
        self.not_before = not_before


class RecordKeyTaken(BlueskyError):
    """Another record holds the key (400 InvalidSwap): this post was not written, and retrying
    the same key cannot write it."""


class Refused(BlueskyError):
    """The PDS refused the record for good (400): retrying sends the same thing."""


def _detail(error: RequestErrorBase) -> str:
    content = error.response.content if error.response is not None else None
    name = getattr(content, "error", None) or ""
    message = getattr(content, "message", None) or ""
    return f"{name}: {message}".strip(": ") or f"HTTP {error.response.status_code}"


def _error_name(error: RequestErrorBase) -> str:
    content = error.response.content if error.response is not None else None
    return getattr(content, "error", None) or ""


# --- the client ---------------------------------------------------------------------------
class _PdsClient(Client):
    """The SDK's client, kept on the configured PDS URL: it would otherwise move to the endpoint
    named in the account's DID document after login, which neither the outbound-address check
    nor a test's proxy has seen. It also refreshes its tokens once the access token is older
    than max_token_age: the PDS checks an access token's signature only, so a revoked app
    password goes on working until its token is refreshed (two hours on @atproto/pds)."""

    max_token_age: float | None = None

    def _should_refresh_session(self) -> bool:
        if super()._should_refresh_session():
            return True
        issued = self._session.access_jwt_payload.iat if self._session else None
        if self.max_token_age is None or issued is None:
            return False
        return datetime.now(timezone.utc).timestamp() - issued >= self.max_token_age

    def _update_pds_endpoint(self, pds_endpoint: str) -> None:
        pass


class BlueskyClient:
    """One account on one PDS. Give it the saved session string (the access and refresh tokens)
    when there is one: the SDK refreshes the tokens before they expire, and when the PDS refuses
    them this client logs in again with the app password (LoginRefused when that is refused too).
    `on_session(session_string)` is called with each new session, so the caller can store it
    (encrypted) and the next client starts from it instead of logging in. `max_token_age`
    (seconds) bounds how long a revoked app password goes unnoticed."""

    def __init__(self, pds_url: str, handle: str, app_password: str, *, session: str = "",
                 on_session=None, timeout: float = 10, max_token_age: float | None = None):
        self.pds_url = pds_url.rstrip("/")
        self.handle = handle
        self.app_password = app_password
        self.on_session = on_session
        self.client = _PdsClient(self.pds_url, request=Request(timeout=httpx.Timeout(timeout)))
        self.client.max_token_age = max_token_age
        if session:
            self.client.login(session_string=session, fetch_bsky_profile=False)
        # After the import: only new sessions (a login, a refresh) are worth storing.
        self.client.on_session_change(lambda event, new_session: self._session_changed())

    def _session_changed(self):
        if self.on_session is not None:
            self.on_session(self.client.export_session_string())

    @property
    def session(self) -> str:
        """The current session string ("" before the first login)."""
        return self.client.export_session_string() if self.client._session else ""

    @property
    def did(self) -> str:
        if self.client._session is None:
            self.login()
        return self.client._session.did

    def close(self):
        self.client.request.close()

    def login(self) -> str:
        """A new session from the handle and app password; returns the account's DID."""
        try:
            self.client.login(self.handle, self.app_password, fetch_bsky_profile=False)
        except UnauthorizedError as error:
            raise LoginRefused(
                f"{self.pds_url} refused the handle {self.handle!r} with this app password ({_detail(error)}). "
                "It is wrong or was revoked: create a new app password in Bluesky's settings and enter it here."
            ) from None
        except BadRequestError as error:
            raise LoginRefused(f"{self.pds_url} refused the login of {self.handle!r}: {_detail(error)}.") from None
        except (RequestErrorBase, httpx.TransportError) as error:
            raise Unavailable(f"{self.pds_url} could not be reached to log in: {_transport_detail(error)}") from None
        return self.client._session.did

    def _authorized(self, call):
        """Runs call() with a session. A refused token (expired, or revoked with the app password)
        is never applied by the PDS, so the call is sent again after a new login."""
        if self.client._session is None:
            self.login()
        try:
            return call()
        except (UnauthorizedError, BadRequestError) as error:
            if not (isinstance(error, UnauthorizedError) or _error_name(error) in _TOKEN_ERRORS):
                raise
        self.login()
        return call()

    # --- reads and writes ---
    def put_post(self, rkey: str, record: dict) -> Written:
        """Writes the record under the key unless a record is there already (swapRecord null).
        The identical record already there is a success with the same CID, nothing written twice."""
        def put():
            body = {"repo": self.client._session.did, "collection": POST_COLLECTION, "rkey": rkey,
                    "record": record, "swapRecord": None}
            return self.client.invoke_procedure(
                "com.atproto.repo.putRecord", content=record_json(body), input_encoding="application/json")

        try:
            response = self._authorized(put)
        except RateLimitExceededError as error:
            raise _rate_limited(error) from None
        except BadRequestError as error:
            if _error_name(error) == "InvalidSwap":
                # An earlier try may have written this post with other facets or langs (a
                # mention that resolved then, a language changed since): it is ours all the same.
                written = self.reconcile(rkey, record)
                if written is None:
                    raise OutcomeUnknown(f"the key {rkey} was taken and is free again") from None
                return written
            raise Refused(f"{self.pds_url} refused the post: {_detail(error)}") from None
        except UnauthorizedError as error:
            raise Refused(f"{self.pds_url} refused the post from a new session: {_detail(error)}") from None
        except (RequestErrorBase, httpx.TransportError) as error:
            if _not_sent(error):
                raise Unavailable(f"{self.pds_url} could not be reached: {_transport_detail(error)}") from None
            raise OutcomeUnknown(f"no answer from {self.pds_url} to the post (it may be written): {_transport_detail(error)}") from None
        return Written(uri=response.content["uri"], cid=response.content["cid"],
                       rate_limit=RateLimit.from_headers(response.headers))

    def get_post(self, rkey: str) -> tuple[Written, dict] | None:
        """The post under the key and its record, or None when there is none."""
        def get():
            params = ComAtprotoRepoGetRecord.Params(repo=self.client._session.did, collection=POST_COLLECTION, rkey=rkey)
            return self.client.invoke_query("com.atproto.repo.getRecord", params=params)

        try:
            response = self._authorized(get)
        except RateLimitExceededError as error:
            raise _rate_limited(error) from None
        except BadRequestError as error:
            if _error_name(error) == "RecordNotFound":
                return None
            raise Unavailable(f"{self.pds_url} refused to read the post back: {_detail(error)}") from None
        except (RequestErrorBase, httpx.TransportError) as error:
            raise Unavailable(f"{self.pds_url} could not be reached: {_transport_detail(error)}") from None
        content = response.content
        return Written(uri=content["uri"], cid=content["cid"]), content["value"]

    def reconcile(self, rkey: str, record: dict) -> Written | None:
        """After an unknown outcome: the post if the write was applied, None if it was not (send
        it again), RecordKeyTaken if another post holds the key. The key is this delivery's
        alone, so a record under it with the post's text and createdAt is this post."""
        found = self.get_post(rkey)
        if found is None:
            return None
        written, value = found
        if (value.get("text"), value.get("createdAt")) != (record["text"], record["createdAt"]):
            raise RecordKeyTaken(f"another post already holds the record key {rkey}: this one cannot be written under it")
        return written

    def facets(self, text: str) -> list[dict]:
        """Links, mentions and tags of the text as richtext facets (UTF-8 byte ranges). Mentions
        name DIDs: each handle is resolved now, and one that does not resolve stays plain text."""
        try:
            found = self.client.detect_facets(text)
        except (RequestErrorBase, httpx.TransportError) as error:
            raise Unavailable(f"{self.pds_url} could not resolve the mentions: {_transport_detail(error)}") from None
        return [get_model_as_dict(facet) for facet in found]


# The PDS's answers to a token it will not take (expired, revoked, or of a revoked app password).
_TOKEN_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing"}


def _not_sent(error: Exception) -> bool:
    """Whether the request surely never reached the PDS (no connection was made)."""
    cause = error if isinstance(error, httpx.TransportError) else error.__cause__
    if isinstance(error, RequestErrorBase) and error.response is not None:
        return False  # an answer came: a 5xx after the request was read
    return isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def _transport_detail(error: Exception) -> str:
    if isinstance(error, RequestErrorBase) and error.response is not None:
        return _detail(error)
    cause = error if isinstance(error, httpx.TransportError) else (error.__cause__ or error)
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__


def _rate_limited(error: RateLimitExceededError) -> RateLimited:
    rate_limit = RateLimit.from_headers(error.response.headers if error.response is not None else None)
    not_before = error.reset_at
    if not_before is None and error.retry_after is not None:
        not_before = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=error.retry_after)
    when = f" until {not_before:%Y-%m-%d %H:%M:%S} UTC" if not_before else ""
    return RateLimited(f"the PDS's rate limit is used up{when} ({rate_limit.policy if rate_limit else 'no policy given'})",
                       rate_limit, not_before)
