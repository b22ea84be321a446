"""Settings for the test suite: the environment's database and broker, a fixed secret, fast hashing."""
from . import *  # noqa: F401,F403

SECRET_KEY = "test-secret-key"
# Tests create a user or two each; PBKDF2's deliberate slowness would cost half a minute.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
