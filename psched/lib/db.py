"""Database helpers shared by the apps."""
import operator
import random
import threading
import time
from datetime import datetime, timedelta, timezone as dt_timezone
from contextlib import contextmanager
from functools import wraps

from django.core.signals import request_finished
from django.db.backends.signals import connection_created
from django.db import DatabaseError, OperationalError, connection, models

# MySQL/MariaDB: 1213 deadlock (the transaction was rolled back), 1205 lock wait timeout.
RETRYABLE_ERRORS = {1213, 1205}
# The connection is gone (2006 server gone away, 2013 lost during a query, 4031 ended by the
# server for inactivity, as idle_transaction_timeout does): its transaction was rolled back.
CONNECTION_LOST_ERRORS = {2006, 2013, 4031}


def is_retryable(error: OperationalError) -> bool:
    return bool(error.args) and error.args[0] in RETRYABLE_ERRORS


def is_connection_lost(error) -> bool:
    return bool(getattr(error, "args", None)) and error.args[0] in CONNECTION_LOST_ERRORS


def retry_on_deadlock(function=None, *, attempts: int = 5):
    """Runs a whole transaction again when the database chose it as a deadlock victim. Use it
    outside transaction.atomic(): a retry inside a transaction that was rolled back is useless."""
    def decorate(function):
        @wraps(function)
        def run(*args, **kwargs):
            for attempt in range(1, attempts + 1):
                try:
                    return function(*args, **kwargs)
                except OperationalError as error:
                    if not is_retryable(error) or attempt == attempts or connection.in_atomic_block:
                        raise
                    time.sleep(random.uniform(0.05, 0.2) * attempt)
        return run
    return decorate(function) if function else decorate


def database_wait(*, log, every: float = 1.0) -> None:
    """Returns once the database answers: a worker or beat started while it is down (restarted
    with it, or after a crash during its outage) waits for it instead of exiting."""
    waited = False
    while True:
        try:
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            if waited:
                log("the database answers; starting")
            return
        except OperationalError as error:
            if not waited:
                log(f"waiting for the database: {error}")
            waited = True
            connection.close()
            time.sleep(every)


@contextmanager
def idle_transaction_limit(seconds: int, *, reset_at_request_end: bool = False):
    """Inside the block, on MariaDB, the server ends this connection (rolling its transaction
    back and releasing its row locks) when its client leaves a transaction idle for longer than
    `seconds`: a web server whose link crawls (a lossy network) cannot hold the rows it locked
    for minutes while another web server is asked the same. After the block the connection has
    the server's default again: the next request it serves (an import, a long page) is not cut
    short. `reset_at_request_end`: the default comes back when the request ends (its answer
    sent: request_finished), before this thread serves another, rather than before the answer
    is written (a round trip its caller would wait for); at once when the block raises.
    0, MySQL (no such limit) or SQLite: nothing."""
    if not seconds or connection.vendor != "mysql" or not connection.mysql_is_mariadb:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION idle_transaction_timeout = %s", [int(seconds)])
    raised = True
    try:
        yield
        raised = False
    finally:
        if reset_at_request_end and not raised:
            _idle_limit_reset_due.due = True
        else:
            _idle_limit_reset()


_idle_limit_reset_due = threading.local()


def _idle_limit_reset(**signal) -> None:
    """The connection's idle-transaction limit back to the server's default (request_finished,
    for a limit left to the request's end)."""
    if signal and not getattr(_idle_limit_reset_due, "due", False):
        return
    _idle_limit_reset_due.due = False
    if connection.connection is None:  # closed meanwhile (close_old_connections): a new one has the default
        return
    baseline = _session_limits.get("idle_transaction_timeout")
    try:
        with connection.cursor() as cursor:
            if baseline is None:
                cursor.execute("SET SESSION idle_transaction_timeout = DEFAULT")
            else:
                cursor.execute("SET SESSION idle_transaction_timeout = %s", [baseline])
    except DatabaseError:
        connection.close()  # the server ended it: the next use opens a fresh one


request_finished.connect(_idle_limit_reset, dispatch_uid="psched.lib.db.idle_limit_reset")

# MariaDB session limits of every connection this process opens (session_limits_set).
_session_limits: dict[str, int] = {}


def session_limits_set(*, idle_transaction_seconds: int, lock_wait_seconds: int) -> None:
    """For a dispatcher node's process: on every MariaDB connection it opens (and the one open
    now), the server ends a transaction its client leaves idle for `idle_transaction_seconds`
    (a node paused or cut off in the middle of one frees its locks within seconds, not when it
    comes back), and a statement waits at most `lock_wait_seconds` for a row lock (then fails,
    and the next tick tries again), instead of the server's 50 s: a node blocked behind such a
    lock stopped ticking for a minute. 0 leaves the server's default. idle_transaction_limit
    blocks come back to these values."""
    limits = {"idle_transaction_timeout": idle_transaction_seconds, "innodb_lock_wait_timeout": lock_wait_seconds}
    _session_limits.update({name: int(value) for name, value in limits.items() if value})
    connection_created.connect(_session_limits_apply, dispatch_uid="psched.lib.db.session_limits")
    if connection.connection is not None:
        _session_limits_apply(sender=None, connection=connection)


def _session_limits_apply(sender, connection, **signal) -> None:
    if not _session_limits or connection.vendor != "mysql" or not connection.mysql_is_mariadb:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION " + ", ".join(f"{name} = %s" for name in _session_limits), list(_session_limits.values()))


def db_now() -> datetime:
    """The database server's clock, the one clock that decides (docs/design.md, "Clocks"): a node's
    or web server's own clock may be off by a minute. Aware, UTC, microseconds where the
    database has them (SQLite: milliseconds)."""
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SELECT UTC_TIMESTAMP(6)")
        else:
            cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
        (value,) = cursor.fetchone()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=dt_timezone.utc)


class DatabaseClock:
    """The database clock read once, then carried forward by this process's monotonic clock:
    a tick reads the database once and still waits for each post's moment by the database
    clock, whatever the host's wall clock says. `offset` is how far the host's wall clock is
    ahead of the database's (negative: behind), measured at the read."""

    def __init__(self):
        before = time.time()
        started = time.monotonic()
        self.base = db_now()
        self.base_monotonic = time.monotonic()
        # The read happened somewhere during the query: take its middle on the host's clock.
        host_at_read = before + (self.base_monotonic - started) / 2
        self.offset = host_at_read - self.base.timestamp()

    def now(self) -> datetime:
        return self.base + timedelta(seconds=time.monotonic() - self.base_monotonic)


def ids_sql(ids) -> str:
    """Ids written out for `WHERE id IN (…)`, each made an int: for statements over batches of
    up to PSCHED_MAX_BULK ids (the claim, the callback), where the ORM would prepare and escape
    every id of the list one by one."""
    return ", ".join(str(int(pk)) for pk in ids)


# How long a process trusts its copy of the database clock: the monotonic clock it is carried
# by drifts from the database's by well under a millisecond in this time.
CLOCK_REREAD_SECONDS = 30.0
_clock: DatabaseClock | None = None
_clock_lock = threading.Lock()


def db_now_cached() -> datetime:
    """The database clock without a round trip, for checks that need it to the millisecond
    and not better (is this time in the past?): a DatabaseClock this process read at most
    CLOCK_REREAD_SECONDS ago. Decisions that order events (claims, leases, published_at)
    read db_now() in their own statement or transaction."""
    global _clock
    clock = _clock
    if clock is None or time.monotonic() - clock.base_monotonic > CLOCK_REREAD_SECONDS:
        with _clock_lock:
            if _clock is clock:  # not re-read by another thread meanwhile
                _clock = DatabaseClock()
            clock = _clock
    return clock.now()


def request_now(request) -> datetime:
    """"Now" for one request: the database clock (db_now_cached), read once and kept on the
    request, so that every decision the request makes (a queue slot, "Share now", a series'
    window, the calendar's today) sees the same instant and none asks the web host's clock.
    Takes Django's request or DRF's (which wraps it: both see the same value)."""
    http_request = getattr(request, "_request", request)
    now = getattr(http_request, "psched_now", None)
    if now is None:
        now = http_request.psched_now = db_now_cached()
    return now


def db_now_cached_forget() -> None:
    """The next db_now_cached() reads the database again (tests that move the clock)."""
    global _clock
    _clock = None


# Field classes whose Python values the database driver takes as they are (str, int, bool,
# None): no per-field preparation needed. Any other field is prepared as save() prepares it.
_PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


class RowInsert:
    """INSERTs one new row of `model` as save(force_insert=True) would, for the hot paths: the
    statement is built once per database vendor, and each field's value is prepared by the
    cheapest correct means (auto_now fields get their time from pre_save, datetimes the
    backend's adaptation, plain values go as they are). The ORM would compile the SQL and
    walk each field's preparation chain on every call. No pre_save/post_save signals are
    sent: use it only for models that have no receivers of them."""

    def __init__(self, model):
        self.model = model
        self._built = {}

    def _build(self):
        fields = [f for f in self.model._meta.concrete_fields if not isinstance(f, models.AutoField)]
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(self.model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        prepare = []
        adapt = connection.ops.adapt_datetimefield_value
        for field in fields:
            auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            if auto and type(field) is models.DateTimeField:  # pre_save gives an aware now
                prepare.append(lambda row, field=field, adapt=adapt: adapt(field.pre_save(row, True)))
            elif auto:
                prepare.append(lambda row, field=field: field.get_db_prep_save(field.pre_save(row, True), connection))
            elif type(field) is models.DateTimeField:
                prepare.append(lambda row, attname=field.attname, adapt=adapt: adapt(getattr(row, attname)))
            elif isinstance(field, _PLAIN_FIELDS):
                prepare.append(operator.attrgetter(field.attname))
            else:
                prepare.append(lambda row, field=field: field.get_db_prep_save(getattr(row, field.attname), connection))
        return sql, prepare

    def __call__(self, row) -> None:
        built = self._built.get(connection.vendor)
        if built is None:
            built = self._built[connection.vendor] = self._build()
        sql, prepare = built
        with connection.cursor() as cursor:
            cursor.execute(sql, [value(row) for value in prepare])
            row.pk = cursor.lastrowid
        row._state.adding = False
        row._state.db = connection.alias


class RowRead:
    """SELECTs one row of `model` by its primary key, with the row its foreign key `related`
    names, as `model.objects.select_related(related).get(pk=value)` would (None when there is
    none), for a read made on every request (the API token): the statement is built once per
    database vendor and each value converted as the ORM converts it (datetimes made aware,
    MySQL's booleans made bool); the ORM would compile the query on every call."""

    def __init__(self, model, *, related: str):
        self.model = model
        self.related = related
        self._built = {}

    def _build(self):
        fk = self.model._meta.get_field(self.related)
        other = fk.related_model
        quote = connection.ops.quote_name
        own, theirs = quote(self.model._meta.db_table), quote(other._meta.db_table)
        columns, converters = [], []
        for table, model in ((own, self.model), (theirs, other)):
            for field in model._meta.concrete_fields:
                columns.append(f"{table}.{quote(field.column)}")
                col = field.get_col(model._meta.db_table)
                converters.append((len(columns) - 1, col, [
                    *connection.ops.get_db_converters(col), *field.get_db_converters(connection)]))
        sql = (f"SELECT {', '.join(columns)} FROM {own} INNER JOIN {theirs} "
               f"ON {theirs}.{quote(fk.target_field.column)} = {own}.{quote(fk.column)} "
               f"WHERE {own}.{quote(self.model._meta.pk.column)} = %s")
        converters = [(n, col, functions) for n, col, functions in converters if functions]
        return sql, converters, len(self.model._meta.concrete_fields), fk

    def __call__(self, value):
        built = self._built.get(connection.vendor)
        if built is None:
            built = self._built[connection.vendor] = self._build()
        sql, converters, split, fk = built
        with connection.cursor() as cursor:
            cursor.execute(sql, [value])
            found = cursor.fetchone()
        if found is None:
            return None
        values = list(found)
        for n, col, functions in converters:
            for function in functions:
                values[n] = function(values[n], col, connection)
        row = self.model.from_db(connection.alias, None, values[:split])
        related = fk.related_model.from_db(connection.alias, None, values[split:])
        fk.set_cached_value(row, related)
        if fk.one_to_one:
            fk.remote_field.set_cached_value(related, row)
        return row
