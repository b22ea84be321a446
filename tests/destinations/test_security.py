"""Secrets at rest and where webhooks may go."""
import pytest
from django.core.exceptions import ImproperlyConfigured
from cryptography.fernet import Fernet

from destinations.models import Destination
from psched.lib import outbound
from psched.lib.encryption import SecretUnreadable, secret_decrypt, secret_encrypt


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.5", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1"])
def test_it_names_addresses_that_are_not_public(address):
    assert outbound.address_problem(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111"])
def test_it_lets_public_addresses_through(address):
    assert outbound.address_problem(address) == ""


def test_it_refuses_http_and_private_hosts_unless_allowed():
    with pytest.raises(outbound.AddressRefused, match="https"):
        outbound.url_check("http://example.com/hook", allow_private=False)
    with pytest.raises(outbound.AddressRefused, match="loopback"):
        outbound.url_check("https://127.0.0.1/hook", allow_private=False)
    with pytest.raises(outbound.AddressRefused, match="link-local"):
        outbound.url_check("https://169.254.169.254/latest/meta-data", allow_private=False)
    outbound.url_check("http://127.0.0.1:9/hook", allow_private=True)


def test_it_stores_secrets_encrypted_and_never_in_clear(alice, webhook):
    destination, secret = webhook(alice)
    stored = Destination.objects.values_list("secret_encrypted", flat=True).get()
    assert secret.startswith("whsec_") and secret not in stored
    assert secret_decrypt(stored) == secret


def test_keys_rotate(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PSCHED_SECRETS_KEYS = [old]
    token = secret_encrypt("whsec_abc")
    settings.PSCHED_SECRETS_KEYS = [new, old]
    assert secret_decrypt(token) == "whsec_abc"
    settings.PSCHED_SECRETS_KEYS = [new]
    with pytest.raises(SecretUnreadable):
        secret_decrypt(token)


def test_a_bad_key_is_a_clear_error(settings):
    settings.PSCHED_SECRETS_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="PSCHED_SECRETS_KEYS"):
        secret_encrypt("x")


def test_a_webhook_url_must_be_https(alice, settings):
    from django.core.exceptions import ValidationError

    from destinations.services import destination_create

    settings.PSCHED_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as error:
        destination_create(owner=alice, name="h", kind="webhook", config={"url": "http://127.0.0.1/x"})
    assert "url" in error.value.message_dict
