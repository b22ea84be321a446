"""The soak's history: one directory with
- meta.json: the seed, the duration, the clock offset of this machine to the database's;
- ops.jsonl: every request a client sent and the answer it got (or the error), with the
  client's send and receive times (UNIX seconds, this machine's clock);
- faults.jsonl: every fault the nemesis made, with its start and end;
- events.jsonl: what else happened to the processes: one that exited by itself, seen and
  started again by the soak's supervisor (soak.cluster.supervise);
- db.json: the database as the run left it (scheduled posts, feed posts, series), read
  with plain SQL after the run (never psched's own counters).
The checker (soak.check) reads nothing else."""
import json
import threading
from pathlib import Path


class History:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._files = {name: open(self.directory / f"{name}.jsonl", "a") for name in ("ops", "faults", "events")}
        self.counts = {name: 0 for name in self._files}  # records written, for the progress line

    def record(self, kind: str, entry: dict) -> None:
        line = json.dumps(entry, default=str)
        with self._lock:
            if self._files[kind].closed:
                return  # a fault thread ending after an interrupted run closed the history
            self._files[kind].write(line + "\n")
            self._files[kind].flush()
            self.counts[kind] += 1

    def write(self, name: str, value) -> None:
        (self.directory / name).write_text(json.dumps(value, indent=1, default=str))

    def close(self):
        for file in self._files.values():
            file.close()


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
