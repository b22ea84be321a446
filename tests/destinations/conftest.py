import pytest

from destinations.services import destination_create


@pytest.fixture
def allow_private(settings):
    settings.PSCHED_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def webhook(allow_private):
    """make(owner, name=, url=): a webhook destination and its secret in clear."""

    def make(owner, name="hook", url="http://127.0.0.1:9/hook", **options):
        return destination_create(owner=owner, name=name, kind="webhook", config={"url": url}, **options)

    return make
