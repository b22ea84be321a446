"""The embedded broker of `make run`: kombu's file-system transport, made safe for several
processes (docs/deployment.md, "The embedded broker").

kombu's transport creates a message file under its final name and then writes it, and a
consumer moves any file with that name to /tmp and parses it: a consumer that comes between
the two reads an empty or half-written message, raises JSONDecodeError, and the worker stops
with "Unrecoverable error" (an open kombu issue, celery/kombu#1551). Moving to /tmp is also a
copy and a delete when /tmp is another file system, so two consumers can both take a message.

Here:
- a message is written to a hidden temporary file in the messages folder and renamed to its
  name when whole (a rename within a folder is atomic): a consumer sees all of it or nothing;
- a consumer claims a message by renaming it into `processing/` in the same folder: of two
  consumers, exactly one rename succeeds, the other finds the file gone and takes the next;
- a file that is not a message (not JSON, not kombu's envelope, a body that does not decode)
  is moved into `malformed/` with a log line, and the consumer goes on;
- the exchange tables (fanout bindings, in the control folder) are rewritten the same way,
  under a lock, so a reader never sees a truncated table.

A message is deleted once read, as kombu's transport does: a worker stopped cleanly puts back
what it did not acknowledge; one killed loses what it held (a tick: the next one comes).
"""
import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger("psched.broker")

PROCESSING = "processing"
# An empty queue is looked for again in a new listing of the folder at most this often.
RELIST_SECONDS = 0.02
MALFORMED = "malformed"


def file_write_atomic(path: Path, data: bytes) -> None:
    """Writes `data` to a hidden temporary file beside `path`, then renames it to `path`."""
    temporary = path.parent / f".{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Per queue, the message files seen at the last listing of the folder, oldest first.
        # One listing serves every queue and many gets: kombu listed and sorted the whole
        # folder for each get, even of an empty queue (the worker's control queue is polled as
        # often as its work queue), which made a backlog of thousands crawl.
        self._listed: dict[str, list[str]] = {}
        self._listed_at = 0.0

    def _list(self) -> None:
        listed: dict[str, list[str]] = {}
        # Names start with the time in milliseconds, so sorted they are oldest first. The
        # temporary files start with a dot and end in .tmp.
        for name in sorted(os.listdir(self.data_folder_in)):
            stamp, _, rest = name.partition(".")
            if rest.endswith(".msg") and stamp:
                listed.setdefault(rest[:-4], []).append(name)
        for names in listed.values():
            names.reverse()  # taken from the end: the oldest first
        self._listed, self._listed_at = listed, monotonic()

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        try:
            file_write_atomic(Path(self.data_folder_out) / name, str_to_bytes(dumps(payload)))
        except OSError as error:
            raise ChannelError(f"Cannot add a message to {self.data_folder_out}: {error}") from error

    def _get(self, queue):
        folder = Path(self.data_folder_in)
        processing = folder / PROCESSING
        processing.mkdir(mode=0o700, exist_ok=True)
        while True:
            names = self._listed.get(queue)
            if not names:
                if monotonic() - self._listed_at < RELIST_SECONDS:
                    raise Empty()  # listed a moment ago: the transport polls again shortly
                self._list()
                names = self._listed.get(queue)
                if not names:
                    raise Empty()
            name = names.pop()
            claimed = processing / name
            try:
                os.rename(folder / name, claimed)
            except FileNotFoundError:
                continue  # another consumer took it
            try:
                with open(claimed, "rb") as handle:
                    data = handle.read()
            except OSError as error:
                raise ChannelError(f"Cannot read the message {claimed}: {error}") from error
            payload = self._payload(data)
            if payload is None:
                self._set_aside(claimed, data)
                continue
            claimed.unlink(missing_ok=True)
            return payload

    def _queue_files(self, queue) -> list[str]:
        suffix = f".{queue}.msg"
        return [name for name in os.listdir(self.data_folder_in) if name.partition(".")[2] == suffix[1:]]

    def _payload(self, data: bytes):
        """kombu's envelope in `data`, or None when it is not one a consumer can deliver."""
        try:
            payload = loads(bytes_to_str(data))
            properties = payload["properties"]
            properties["delivery_tag"], properties["delivery_info"]["routing_key"]  # noqa: B018
            if payload.get("body"):
                self.decode_body(payload["body"], properties.get("body_encoding"))
        except Exception:  # JSON, encoding, a missing key, a body that is not base64: all the same
            return None
        return payload

    def _set_aside(self, claimed: Path, data: bytes) -> None:
        malformed = Path(self.data_folder_in) / MALFORMED
        malformed.mkdir(mode=0o700, exist_ok=True)
        os.replace(claimed, malformed / claimed.name)
        logger.error("moved a malformed message (%d bytes, not a kombu message) aside to %s; the worker goes on",
                     len(data), malformed / claimed.name)

    def _purge(self, queue):
        count = 0
        for name in self._queue_files(queue):
            try:
                os.remove(Path(self.data_folder_in) / name)
                count += 1
            except FileNotFoundError:
                pass
        self._listed.pop(queue, None)
        return count

    def _size(self, queue):
        return len(self._queue_files(queue))

    # The exchange tables: read without a lock (a rename is atomic), rewritten under one.

    def get_table(self, exchange):
        try:
            table = loads(bytes_to_str(self._exchange_file(exchange).read_bytes()))
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ChannelError(f"Cannot open the exchange table of {exchange!r}: {error}") from error
        return [filesystem.exchange_queue_t(*row) for row in table]

    def _table_change(self, exchange, change) -> None:
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(file.with_suffix(".lock"), "a") as lock:
            filesystem.lock(lock, filesystem.LOCK_EX)
            try:
                rows = self.get_table(exchange)
                changed = change(rows)
                if changed is not None:
                    file_write_atomic(file, str_to_bytes(dumps(changed)))
            finally:
                filesystem.unlock(lock)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._table_change(exchange, lambda rows: None if row in rows else [row, *rows])

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        # The virtual channel's own bookkeeping, not kombu's file-system rewrite of the table.
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._table_change(exchange, lambda rows: [other for other in rows if other != row] if row in rows else None)


class Transport(filesystem.Transport):
    """CELERY_BROKER_URL=filesystem:// (settings/celery.py selects it)."""

    Channel = Channel
    global_state = virtual.BrokerState()
