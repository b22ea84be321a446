"""psched's settings, read from the environment by small modules; importing them writes nothing.

DJANGO_SETTINGS_MODULE stays `psched.settings`; tests use `psched.settings.test`.
"""
from .base import *  # noqa: F401,F403
from .security import *  # noqa: F401,F403
from .database import *  # noqa: F401,F403
from .api import *  # noqa: F401,F403
from .scheduler import *  # noqa: F401,F403
from .celery import *  # noqa: F401,F403
from .cache import *  # noqa: F401,F403
from .logging import *  # noqa: F401,F403
from .destinations import *  # noqa: F401,F403
