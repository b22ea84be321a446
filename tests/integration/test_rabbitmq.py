"""The pipeline with RabbitMQ as the broker (a private vhost on the local server) instead of
Redis: same processes, same promise."""
import pytest

from stack import at

pytestmark = pytest.mark.integration


def test_it_publishes_300_posts_exactly_once_over_rabbitmq(stack_factory):
    stack = stack_factory(broker="amqp").start()
    assert stack.env["CELERY_BROKER_URL"].startswith("amqp://")
    created = stack.schedule([{"text": f"rabbit {i}", "publish_at": at(4 + i * 0.02)} for i in range(300)])
    stack.wait_settled(300, timeout=90)
    stack.assert_each_published_once([post["id"] for post in created])
    assert stack.status_counts() == {"published": 300}
    per_node = stack.published_per_node()
    assert set(per_node) == {"a", "b"}, per_node
    status, health = stack._call("GET", "/healthz")
    assert status == 200 and health["broker"] == "ok", health
