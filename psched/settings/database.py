"""DATABASE_URL: MariaDB/MySQL in production, SQLite in var/ by default."""
import dj_database_url

from psched.lib.env import env_int, env_str

from .paths import VAR_DIR


def database_config(url):
    config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
    engine = config["ENGINE"]
    if engine.endswith("mysql"):
        config["OPTIONS"] = {
            "charset": "utf8mb4",
            # READ COMMITTED: a claim's conditional UPDATE sees rows committed by other nodes.
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        }
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    elif engine.endswith("sqlite3"):
        config["CONN_MAX_AGE"] = 0
        # Web, worker and beat share one file: WAL lets readers run beside the writer and
        # IMMEDIATE transactions wait for the lock instead of failing half-way.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        # Tests on a file too: Django's default in-memory test database shares one cache
        # between connections, whose table locks fail at once ("database table is locked")
        # instead of waiting out the timeout as the real file does.
        if config["NAME"] and config["NAME"] != ":memory:":
            config["TEST"] = {"NAME": f"{config['NAME']}.test"}
    return config


DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'psched.sqlite3'}")
DATABASES = {"default": database_config(DATABASE_URL)}
