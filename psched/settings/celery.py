"""Celery: the broker and how tasks are acknowledged; beat's schedule lives in the database."""
from psched.lib.env import env_str

from .paths import VAR_DIR

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's file-system transport, made safe for several processes (psched/broker.py).
    # psched.celery creates these folders when the app is configured.
    CELERY_BROKER_TRANSPORT = "psched.broker:Transport"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "messages"),
        "data_folder_out": str(_broker_dir / "messages"),
        "control_folder": str(_broker_dir / "control"),
        "polling_interval": 0.05,
    }
elif CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ confirms each publish, so a tick beat sent is not lost silently. A message not
    # yet acked goes back to its queue when the consumer's connection drops: no visibility
    # timeout to tune (but RabbitMQ's consumer_timeout, 30 min, bounds any acks_late task).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
else:
    # Redis redelivers a message not acked within visibility_timeout: longer than any task.
    # A connection that stops answering fails within seconds rather than holding a sender
    # (a tick asking for its deliveries' task) until the kernel gives up on it: a node's
    # ticks once hung for a minute behind such a connection.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600, "socket_timeout": 5, "socket_connect_timeout": 5, "socket_keepalive": True,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "dispatchers.beat:TickScheduler"
# beat wakes often enough to send sub-second ticks on time.
CELERY_BEAT_MAX_LOOP_INTERVAL = 1
DJANGO_CELERY_BEAT_TZ_AWARE = True
