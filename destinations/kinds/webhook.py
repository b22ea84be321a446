"""Webhooks per Standard Webhooks (standardwebhooks.com): a JSON body signed with HMAC-SHA256
over `webhook-id.webhook-timestamp.body`, the signature in `webhook-signature` as `v1,<base64>`
(two during a secret's rotation). `webhook-id` is the delivery's key, the same on every try,
so a receiver that keeps the ids it has applied applies each post once.

A webhook cannot be asked whether it got a request, so reconcile() knows nothing: after an
unknown outcome the same request is sent again with the same webhook-id."""
import base64
import email.utils
import json
import secrets
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from standardwebhooks import Webhook

from psched.lib import outbound

from . import kind_register
from .base import DeliveryJob, Kind, Outcome

SECRET_PREFIX = "whsec_"


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (a number of seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def webhook_body(job: DeliveryJob) -> str:
    """The same bytes on every try (the timestamp is the event's, not the try's)."""
    return json.dumps(
        {"type": job.event_type, "timestamp": job.occurred_at.isoformat().replace("+00:00", "Z"), "data": job.data},
        separators=(",", ":"), ensure_ascii=False,
    )


def webhook_headers(job: DeliveryJob, body: str) -> dict:
    signatures = " ".join(Webhook(secret).sign(job.key, job.sent_at, body) for secret in job.secrets)
    return {
        "Content-Type": "application/json",
        "User-Agent": "psched-webhooks/1",
        "webhook-id": job.key,
        "webhook-timestamp": str(int(job.sent_at.timestamp())),
        "webhook-signature": signatures,
    }


@kind_register
class WebhookKind(Kind):
    name = "webhook"
    label = "Webhook (Standard Webhooks)"
    has_secret = True

    def clean(self, *, config: dict) -> dict:
        url = config.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ValidationError({"url": ["Give the https:// URL that receives the webhooks."]})
        url = url.strip()
        if len(url) > 1000:
            raise ValidationError({"url": ["At most 1000 characters."]})
        try:
            outbound.url_check(url, allow_private=settings.PSCHED_WEBHOOK_ALLOW_PRIVATE)
        except outbound.AddressRefused as error:
            raise ValidationError({"url": [str(error)]}) from None
        return {"url": url}

    def secret_new(self) -> str:
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()

    def deliver(self, *, job: DeliveryJob) -> Outcome:
        body = webhook_body(job)
        try:
            answer = outbound.post(
                job.config["url"],
                body=body.encode(),
                headers=webhook_headers(job, body),
                allow_private=settings.PSCHED_WEBHOOK_ALLOW_PRIVATE,
                connect_timeout=settings.PSCHED_WEBHOOK_CONNECT_TIMEOUT,
                total_timeout=settings.PSCHED_WEBHOOK_TOTAL_TIMEOUT,
            )
        except outbound.AddressRefused as error:
            return Outcome("retry", error=str(error))
        except outbound.NotSent as error:
            return Outcome("retry", error=f"Not sent: {error}.")
        except outbound.NoAnswer as error:
            return Outcome("unconfirmed", error=f"Sent, but {error}: it will be sent again with the same webhook-id.")
        status = answer.status
        retry_after = retry_after_seconds(answer.headers.get("Retry-After") or answer.headers.get("retry-after"))
        if 200 <= status < 300:
            return Outcome("delivered", status=status)
        if status == 410:
            return Outcome("gone", status=status, error="The receiver answered 410 Gone: the destination was disabled.")
        if status == 429:
            return Outcome("retry", status=status, retry_after=retry_after, error="The receiver asked to slow down (429).")
        if status >= 500:
            # It may have applied the event before failing: unknown, sent again with the same id.
            return Outcome("unconfirmed", status=status, retry_after=retry_after, error=f"The receiver answered {status}.")
        return Outcome("retry", status=status, retry_after=retry_after, error=f"The receiver answered {status}.")

    def retry_schedule(self) -> list[float]:
        return list(settings.PSCHED_WEBHOOK_RETRY_SCHEDULE)

    def describe(self, *, config: dict) -> str:
        return config.get("url", "")
