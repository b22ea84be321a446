"""LOG_LEVEL and LOG_FORMAT (plain lines, or one JSON object per line)."""
from psched.lib.env import env_bool, env_choice, env_str

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# json: one JSON object per line (psched.logformat.JsonFormatter), for log shippers.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ["plain", "json"])
# One line per batch a node sends and per callback, with the instants of each stage by the
# database clock (tick, claim, send, answer; received, held, published): what `make bench`
# reads to say where its slowest posts lost their time. Off unless asked for.
PSCHED_TIMING_LOG = env_bool("PSCHED_TIMING_LOG", False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "psched.logformat.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "psched": {"level": LOG_LEVEL},
        "dispatchers": {"level": LOG_LEVEL},
        "scheduling": {"level": LOG_LEVEL},
        "feed": {"level": LOG_LEVEL},
        "psched.timing": {"level": "DEBUG" if PSCHED_TIMING_LOG else "WARNING"},
    },
}
