from io import StringIO

from django.core.management import call_command

from destinations.models import Delivery
from feed.models import Post


def test_destination_list_shows_no_secret(alice, webhook):
    hook, secret = webhook(alice)
    out = StringIO()
    call_command("destination_list", stdout=out)
    assert "hook" in out.getvalue() and "http://127.0.0.1:9/hook" in out.getvalue()
    assert secret not in out.getvalue() and hook.secret_encrypted not in out.getvalue()


def test_deliveries_retry_sends_failed_ones_again(alice, webhook):
    hook, _ = webhook(alice)
    post = Post.objects.create(author=alice, text="x")
    Delivery.objects.create(post=post, destination=hook, key="msg_a", state="failed", attempts=8)
    Delivery.objects.create(post=post, destination=hook, key="msg_b", state="delivered", attempts=1)
    out = StringIO()
    call_command("deliveries_retry", stdout=out)
    assert "1 failed" in out.getvalue()
    assert Delivery.objects.get(key="msg_a").state == "pending"
    assert Delivery.objects.get(key="msg_b").state == "delivered"


def test_metrics_show_deliveries_by_state_and_lateness(alice, webhook, client, settings):
    from django.utils import timezone

    settings.PSCHED_FIGURES_SECONDS = 0
    hook, _ = webhook(alice)
    post = Post.objects.create(author=alice, text="x")
    Delivery.objects.create(post=post, destination=hook, key="msg_m", state="delivered", delivered_at=timezone.now(), lateness_ms=40)
    text = client.get("/metrics").content.decode()
    assert 'psched_deliveries{state="delivered"} 1.0' in text
    assert 'psched_delivery_lateness_milliseconds_bucket{le="50.0"} 1.0' in text


def test_destination_secrets_reencrypt_moves_secrets_to_the_newest_key(alice, webhook, settings):
    import pytest
    from cryptography.fernet import Fernet
    from django.core.management.base import CommandError

    from destinations.models import Destination
    from psched.lib.encryption import secret_decrypt

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PSCHED_SECRETS_KEYS = [old]
    hook, secret = webhook(alice)
    Destination.objects.filter(pk=hook.pk).update(session_encrypted=Fernet(old.encode()).encrypt(b"tokens").decode())
    settings.PSCHED_SECRETS_KEYS = [new, old]
    out = StringIO()
    call_command("destination_secrets_reencrypt", stdout=out)
    assert "1 destinations re-encrypted" in out.getvalue()
    settings.PSCHED_SECRETS_KEYS = [new]  # the old key dropped: the secrets still read
    hook.refresh_from_db()
    assert secret_decrypt(hook.secret_encrypted) == secret
    assert secret_decrypt(hook.session_encrypted) == "tokens"
    out = StringIO()
    call_command("destination_secrets_reencrypt", stdout=out)
    assert "0 destinations re-encrypted under the newest key; 1 already were" in out.getvalue()
    settings.PSCHED_SECRETS_KEYS = [Fernet.generate_key().decode()]  # a key dropped too early
    with pytest.raises(CommandError, match=f"destinations {hook.pk}:"):
        call_command("destination_secrets_reencrypt", stdout=StringIO())
