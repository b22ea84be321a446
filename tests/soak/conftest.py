import json
from datetime import datetime, timezone

import pytest

T0 = 1_800_000_000.0  # the synthetic run's start, UNIX seconds


def db_time(seconds: float) -> str:
    """T0 + seconds as the database snapshot writes it (naive UTC)."""
    return datetime.fromtimestamp(T0 + seconds, timezone.utc).replace(tzinfo=None).isoformat(sep=" ")


def api_time(seconds: float) -> str:
    return datetime.fromtimestamp(T0 + seconds, timezone.utc).isoformat()


class SyntheticRun:
    """A soak history written by hand: requests, faults and the database left behind."""

    def __init__(self, directory):
        self.directory = directory
        self.ops, self.faults, self.rows, self.posts, self.series = [], [], [], [], []
        self.deliveries, self.receiver, self.bluesky = [], [], []
        self.end = 600.0

    @staticmethod
    def api_time(seconds: float) -> str:
        """T0 + seconds as a client writes it."""
        return api_time(seconds)

    def schedule(self, pk, *, due, at=0.0, text=None, status=201, client="alice"):
        text = text or f"{client} post {pk}"
        self.ops.append({
            "client": client, "op": "schedule", "method": "POST", "path": "/api/scheduled-posts/",
            "body": {"text": text, "publish_at": api_time(due)}, "send": T0 + at, "recv": T0 + at + 0.05,
            "status": status, "answer": {"id": pk, "publish_at": api_time(due)} if status == 201 else None,
        })
        return text

    def request(self, op, pk, *, at, status, body=None, method="PATCH", client="alice"):
        self.ops.append({
            "client": client, "op": op, "method": method, "path": f"/api/scheduled-posts/{pk}/", "body": body,
            "send": T0 + at, "recv": T0 + at + 0.05, "status": status, "answer": None,
        })

    def row(self, pk, *, due, status, text, series=None, author="alice"):
        self.rows.append({
            "id": pk, "author": author, "text": text, "status": status, "publish_at": db_time(due), "due_at": db_time(due),
            "published_at": None, "lateness_ms": None, "series_id": series, "queued": 0, "version": 1, "attempts": 1,
            "last_error": "", "created_at": db_time(0), "updated_at": db_time(0),
        })

    def published(self, pk, *, due, late, text, author="alice"):
        self.posts.append({
            "id": len(self.posts) + 1, "author": author, "text": text, "published_at": db_time(due + late),
            "scheduled_post_id": pk, "scheduled_for": db_time(due), "node": "a",
        })

    def fault(self, kind, *, start, end, target="a"):
        self.faults.append({"kind": kind, "target": target, "offset": start, "duration": end - start,
                            "params": {}, "start": T0 + start, "end": T0 + end})

    def write(self):
        (self.directory / "meta.json").write_text(json.dumps({"seed": 1, "minutes": 10, "clock_offset": 0.0}))
        (self.directory / "ops.jsonl").write_text("".join(json.dumps(op) + "\n" for op in self.ops))
        (self.directory / "faults.jsonl").write_text("".join(json.dumps(f) + "\n" for f in self.faults))
        (self.directory / "db.json").write_text(json.dumps({
            "db_now": db_time(self.end), "scheduled_posts": self.rows, "posts": self.posts, "series": self.series,
            "deliveries": self.deliveries, "receiver": self.receiver, "bluesky": self.bluesky,
        }))
        return self.directory


@pytest.fixture
def run(tmp_path):
    return SyntheticRun(tmp_path)
