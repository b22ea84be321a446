"""psched's own knobs: post length, ticks, leases, retries, batches."""
from psched.lib.env import env_float, env_int, env_str

PSCHED_MAX_POST_LENGTH = env_int("PSCHED_MAX_POST_LENGTH", 500, minimum=1)
PSCHED_MAX_BULK = 1000
PSCHED_TICK_SECONDS = env_int("PSCHED_TICK_SECONDS", 1, minimum=1, maximum=3600)
PSCHED_API_URL = env_str("PSCHED_API_URL", "http://127.0.0.1:8000").rstrip("/")
# A claim's lease: long enough for one tick's look-ahead plus a slow callback.
PSCHED_LEASE_SECONDS = env_float("PSCHED_LEASE_SECONDS", 30.0, minimum=1.0)
PSCHED_MAX_ATTEMPTS = env_int("PSCHED_MAX_ATTEMPTS", 12, minimum=1)
PSCHED_RETRY_BASE_SECONDS = env_float("PSCHED_RETRY_BASE_SECONDS", 1.0, minimum=0.01)
PSCHED_RETRY_MAX_SECONDS = env_float("PSCHED_RETRY_MAX_SECONDS", 60.0, minimum=0.1)
PSCHED_BATCH_SIZE = env_int("PSCHED_BATCH_SIZE", 500, minimum=1, maximum=PSCHED_MAX_BULK)
PSCHED_CLAIM_LIMIT = env_int("PSCHED_CLAIM_LIMIT", 2000, minimum=1)
# A node whose last tick is older than this many tick intervals (and at least 5 s) is down.
PSCHED_NODE_DOWN_TICKS = env_int("PSCHED_NODE_DOWN_TICKS", 5, minimum=2)
# How old the dashboard's and /metrics' figures over the whole schedule may get (0: none).
PSCHED_FIGURES_SECONDS = env_float("PSCHED_FIGURES_SECONDS", 10.0, minimum=0.0)
# A node whose clock is further than this from the database's gets a warning on /healthz and
# the dashboard. Only a warning: the database clock decides everything (docs/design.md, "Clocks").
PSCHED_CLOCK_WARN_SECONDS = env_float("PSCHED_CLOCK_WARN_SECONDS", 2.0, minimum=0.0)
PSCHED_CALLBACK_TIMEOUT = env_float("PSCHED_CALLBACK_TIMEOUT", 10.0, minimum=0.1)
# A callback that has not answered after this long is sent again on a new connection (a
# balancer may pick another web server), at most PSCHED_CALLBACK_HEDGES more times, this far
# apart, within PSCHED_CALLBACK_TIMEOUT; the first answer wins (0: never). Four: a balancer
# that picks the sick server for half the connections leaves 1 in 32 batches to the timeout.
PSCHED_CALLBACK_HEDGE_MS = env_int("PSCHED_CALLBACK_HEDGE_MS", 2000, minimum=0)
PSCHED_CALLBACK_HEDGES = env_int("PSCHED_CALLBACK_HEDGES", 4, minimum=0, maximum=9)
# The hedge budget of each node process, so that hedges cannot double the load of a web tier
# slow for everyone: each callback earns this share of a hedge, up to PSCHED_CALLBACK_HEDGE_BURST
# hedges saved (the budget starts full); once it is spent, a callback waits for its first
# attempt instead of hedging. Over any stretch: hedges <= ratio x callbacks + burst (burst 0: no hedge).
PSCHED_CALLBACK_HEDGE_RATIO = env_float("PSCHED_CALLBACK_HEDGE_RATIO", 0.1, minimum=0.0)
PSCHED_CALLBACK_HEDGE_BURST = env_int("PSCHED_CALLBACK_HEDGE_BURST", 10, minimum=0)
# MariaDB rolls back a callback's publishing transaction (and frees its rows for the node's
# next attempt) whose web server leaves it idle this long between statements: a crawling
# link (0: never).
PSCHED_CALLBACK_IDLE_SECONDS = env_int("PSCHED_CALLBACK_IDLE_SECONDS", 3, minimum=0)
# The same for a node's claim: a node whose link crawls does not hold the rows it is claiming
# locked (skipped by every other node's claim) for longer than this between two statements.
PSCHED_CLAIM_IDLE_SECONDS = env_int("PSCHED_CLAIM_IDLE_SECONDS", 2, minimum=0)
# Every transaction of a dispatcher node: MariaDB ends one left idle this long (a node paused
# or cut off mid-transaction frees its locks within seconds), and a node's statement waits at
# most PSCHED_NODE_LOCK_WAIT_SECONDS for a row lock, then fails and the next tick tries again
# (0: the server's defaults, no limit and 50 s).
PSCHED_NODE_IDLE_TRANSACTION_SECONDS = env_int("PSCHED_NODE_IDLE_TRANSACTION_SECONDS", 5, minimum=0)
PSCHED_NODE_LOCK_WAIT_SECONDS = env_int("PSCHED_NODE_LOCK_WAIT_SECONDS", 5, minimum=0)
# A node sends each batch this long before its posts fall due, and the callback waits for
# them (`?at=`): the request and its checks are done by then (0: send when due).
PSCHED_SEND_AHEAD_MS = env_int("PSCHED_SEND_AHEAD_MS", 50, minimum=0, maximum=200)
# A tick claims what falls due before the next tick and this much after, so that a tick that
# comes late (beat's drift, a database slow for a moment) finds its first posts sent already.
PSCHED_CLAIM_AHEAD_MS = env_int("PSCHED_CLAIM_AHEAD_MS", 500, minimum=0, maximum=10_000)
# /healthz waits this long for the broker before calling it down.
PSCHED_HEALTH_BROKER_TIMEOUT = env_float("PSCHED_HEALTH_BROKER_TIMEOUT", 2.0, minimum=0.1)
# Series: the smallest gap allowed between occurrences, and how far ahead they become posts.
PSCHED_SERIES_MIN_SECONDS = env_int("PSCHED_SERIES_MIN_SECONDS", 3600, minimum=1)
PSCHED_SERIES_AHEAD_SECONDS = env_int("PSCHED_SERIES_AHEAD_SECONDS", 7 * 86400, minimum=60)
# Two of a user's posts this close are a clash: scheduling still succeeds, with a warning.
PSCHED_CLASH_MINUTES = env_int("PSCHED_CLASH_MINUTES", 5, minimum=0, maximum=24 * 60)
# The most active series one user may have.
PSCHED_MAX_ACTIVE_SERIES = env_int("PSCHED_MAX_ACTIVE_SERIES", 50, minimum=1)
