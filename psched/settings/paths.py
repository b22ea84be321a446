"""Where the project and its writable files are."""
from pathlib import Path

from psched.lib.env import env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# The embedded database, the file-system broker, the development secret and static files.
# Whoever writes there creates it (psched.startup, the Celery app): importing settings does not.
VAR_DIR = Path(env_str("PSCHED_VAR_DIR", str(BASE_DIR / "var")))
