"""Bluesky (AT Protocol): each delivery writes an app.bsky.feed.post record into the author's
repository, logged in with an app password, under a record key fixed before the first try
(the at:// URI is the delivery's remote_id from its creation), with putRecord and a null
swapRecord, so a try whose answer was lost can be sent again and writes nothing twice.
psched.lib.bluesky does the protocol; docs/bluesky.md tells the whole story."""
import hashlib
import threading

from django.conf import settings
from django.core.exceptions import ValidationError

from psched.lib import bluesky, outbound

from . import kind_register
from .base import DeliveryJob, Kind, Outcome

HANDLE_MAX = 253


def post_uri(*, did: str, rkey: str) -> str:
    return f"at://{did}/{bluesky.POST_COLLECTION}/{rkey}"


def post_link(uri: str) -> str:
    """The post's page on the Bluesky app."""
    did, _, rkey = uri.removeprefix("at://").partition(f"/{bluesky.POST_COLLECTION}/")
    return f"https://bsky.app/profile/{did}/post/{rkey}"


# One client per account and app password in each process: its session (tokens refreshed by
# the SDK) serves every delivery of that destination, from every sending thread.
_clients: dict[str, bluesky.BlueskyClient] = {}
_clients_lock = threading.Lock()


def client_for(config: dict, app_password: str, *, session: str = "") -> bluesky.BlueskyClient:
    name = hashlib.sha256(f"{config['pds_url']}\n{config['handle']}\n{app_password}".encode()).hexdigest()
    with _clients_lock:
        client = _clients.get(name)
        if client is None:
            client = _clients[name] = bluesky.BlueskyClient(
                config["pds_url"], config["handle"], app_password, session=session,
                timeout=settings.PSCHED_WEBHOOK_TOTAL_TIMEOUT, max_token_age=settings.PSCHED_BLUESKY_TOKEN_SECONDS,
            )
        return client


def clients_forget():
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def job_record(job: DeliveryJob) -> dict:
    """The same record on every try: the post's text, its publication instant as createdAt."""
    language = job.data.get("language") or ""
    return bluesky.post_record(
        text=job.data["text"], created_at=job.occurred_at, langs=[language] if language else [],
        facets=job.data.get("facets") or [],
    )


# The longest the check of an app password, when a destination is added or changed, waits for the PDS.
LOGIN_CHECK_SECONDS = 30.0


@kind_register
class BlueskyKind(Kind):
    name = "bluesky"
    label = "Bluesky (AT Protocol)"
    has_secret = True
    secret_field = "app_password"  # the user gives it (Bluesky's settings, App passwords)

    def clean(self, *, config: dict) -> dict:
        errors = {}
        pds_url = config.get("pds_url") or bluesky.DEFAULT_PDS_URL
        if not isinstance(pds_url, str) or len(pds_url) > 1000:
            errors["pds_url"] = ["Give the https:// URL of your PDS (https://bsky.social for most accounts)."]
        else:
            pds_url = pds_url.strip().rstrip("/")
            try:
                outbound.url_check(pds_url, allow_private=settings.PSCHED_WEBHOOK_ALLOW_PRIVATE)
            except outbound.AddressRefused as error:
                errors["pds_url"] = [str(error)]
        handle = config.get("handle")
        handle = handle.strip().removeprefix("@").lower() if isinstance(handle, str) else ""
        if not handle or len(handle) > HANDLE_MAX or "." not in handle:
            errors["handle"] = ["Give your Bluesky handle, such as alice.bsky.social."]
        app_password = config.get("app_password")
        if not isinstance(app_password, str) or not app_password.strip():
            errors["app_password"] = ["Give an app password (Bluesky: Settings, Privacy and security, App passwords)."]
        if errors:
            raise ValidationError(errors)
        app_password = app_password.strip()
        # The password is tried now: a wrong one is a 400 naming it, not a failed delivery later.
        # Someone waits for the answer, and a busy PDS hashes passwords slowly: the send timeout
        # (short, so that lost answers are found out soon) would refuse a good password.
        client = bluesky.BlueskyClient(pds_url, handle, app_password,
                                       timeout=max(settings.PSCHED_WEBHOOK_TOTAL_TIMEOUT, LOGIN_CHECK_SECONDS))
        try:
            did = client.login()
        except bluesky.LoginRefused as error:
            raise ValidationError({"app_password": [str(error)]}) from None
        except bluesky.Unavailable as error:
            raise ValidationError({"pds_url": [f"{error} Check the URL, or try again later."]}) from None
        finally:
            client.close()
        # The session is kept (encrypted, as the password) for the first deliveries.
        return {"pds_url": pds_url, "handle": handle, "did": did, "app_password": app_password, "session": client.session}

    def remote_id_new(self, *, config: dict, delivery_id: int, created_at) -> str:
        """The record's at:// URI, fixed when the delivery is created."""
        return post_uri(did=config["did"], rkey=bluesky.record_key(instant=created_at, delivery_id=delivery_id))

    def text_problem(self, *, text: str) -> str | None:
        return bluesky.text_problem(text)

    def check(self, *, job: DeliveryJob) -> Outcome:
        """A login, not a post: a test post would be public."""
        client = bluesky.BlueskyClient(job.config["pds_url"], job.config["handle"], job.secrets[0],
                                       timeout=settings.PSCHED_WEBHOOK_TOTAL_TIMEOUT)
        try:
            did = client.login()
        except bluesky.LoginRefused as error:
            return Outcome("attention", error=str(error))
        except bluesky.Unavailable as error:
            return Outcome("retry", error=str(error))
        finally:
            client.close()
        return Outcome("delivered", remote_id=did, error="")

    def _client(self, job: DeliveryJob) -> bluesky.BlueskyClient:
        outbound.url_check(job.config["pds_url"], allow_private=settings.PSCHED_WEBHOOK_ALLOW_PRIVATE)
        return client_for(job.config, job.secrets[0], session=job.session)

    def _outcome(self, job: DeliveryJob, state: str, **fields) -> Outcome:
        """The outcome, with the client's session when it is newer than the stored one (a login
        or a refresh happened): psched keeps it, encrypted, for the next tries and processes."""
        client = client_for(job.config, job.secrets[0], session=job.session)
        session = client.session
        return Outcome(state, session=session if session and session != job.session else "", **fields)

    def deliver(self, *, job: DeliveryJob) -> Outcome:
        rkey = job.remote_id.rpartition("/")[2]
        try:
            written = self._client(job).put_post(rkey, job_record(job))
        except outbound.AddressRefused as error:
            return Outcome("retry", error=str(error))
        except bluesky.LoginRefused as error:
            return Outcome("attention", error=str(error))
        except bluesky.RateLimited as error:
            return Outcome("retry", status=429, retry_after=_seconds_until(error.not_before, now=job.sent_at), destination_wait=True,
                           error=f"Bluesky: {error}.")
        except bluesky.OutcomeUnknown as error:
            return Outcome("unconfirmed", error=f"Sent, but {error}. It will be read back before any new try.")
        except bluesky.Unavailable as error:
            return Outcome("retry", error=f"Not sent: {error}.")
        except (bluesky.RecordKeyTaken, bluesky.Refused) as error:
            return Outcome("failed", status=400, error=f"Bluesky refused the post: {error}")
        wait = None
        if written.rate_limit and written.rate_limit.exhausted:  # the next write would be refused
            wait = _seconds_until(written.rate_limit.reset_at, now=job.sent_at)
        return self._outcome(job, "delivered", status=200, remote_id=written.uri, remote_url=post_link(written.uri),
                             retry_after=wait, destination_wait=wait is not None)

    def reconcile(self, *, job: DeliveryJob) -> Outcome | None:
        rkey = job.remote_id.rpartition("/")[2]
        try:
            written = self._client(job).reconcile(rkey, job_record(job))
        except bluesky.RecordKeyTaken as error:
            return Outcome("failed", error=f"Bluesky: {error}")
        except (bluesky.BlueskyError, outbound.AddressRefused):
            return None  # cannot be asked now: the same record goes again, which is as safe
        if written is None:
            return None
        return self._outcome(job, "delivered", status=200, remote_id=written.uri, remote_url=post_link(written.uri))

    def retry_schedule(self) -> list[float]:
        return list(settings.PSCHED_WEBHOOK_RETRY_SCHEDULE)

    def describe(self, *, config: dict) -> str:
        return f"@{config.get('handle', '')} on {config.get('pds_url', '')}"


def _seconds_until(moment, *, now) -> float | None:
    return None if moment is None else max(0.0, (moment - now).total_seconds())
