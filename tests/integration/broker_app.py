"""A Celery app on psched's embedded broker, for tests/integration/test_embedded_broker.py:
its one task writes the number it carries to a file, so the test sees every message the
worker ran. It takes the broker exactly as psched's settings configure it (CELERY_BROKER_URL
filesystem://, folders in PSCHED_VAR_DIR), so the test runs the transport `make run` runs.

Producer: python -m tests.integration.broker_app FIRST COUNT (sends tasks FIRST..FIRST+COUNT-1)."""
import os
import sys

from celery import Celery

from psched.settings import celery as psched_celery

QUEUE = "stress"

app = Celery("broker_stress", broker=psched_celery.CELERY_BROKER_URL)
app.conf.update(
    broker_transport=getattr(psched_celery, "CELERY_BROKER_TRANSPORT", None),
    broker_transport_options=psched_celery.CELERY_BROKER_TRANSPORT_OPTIONS,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
)
_received = None


@app.task(name="stress.record")
def record(number: int) -> None:
    global _received
    if _received is None:  # one O_APPEND descriptor per worker process: each line is one write
        _received = os.open(os.environ["STRESS_RECEIVED"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(_received, f"{number}\n".encode())


if __name__ == "__main__":
    first, count = int(sys.argv[1]), int(sys.argv[2])
    for options in psched_celery.CELERY_BROKER_TRANSPORT_OPTIONS.values():
        if isinstance(options, str):
            os.makedirs(options, exist_ok=True)
    with app.producer_or_acquire() as producer:
        for number in range(first, first + count):
            record.apply_async((number,), producer=producer)
