"""The soak's clients: each a user of its own, in a thread, sending a few operations a second
for the whole run (posts 1 s to a few minutes ahead, single and bulk; edits and cancels, many
racing their post's due time; drafts scheduled; queue slots taken; series created and
stopped), and an operator that drains and activates nodes. Every request and its answer go
to the history with the client's send and receive times; an answer that never came (a
timeout, a reset) is recorded as such: its outcome is unknown, and the checker allows both."""
import json
import random
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from .cluster import NODES

TIMEOUT = 10


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


class Client:
    def __init__(self, *, name: str, url: str, history, rng: random.Random, max_ahead: float, stop: threading.Event,
                 destinations: tuple[int, ...] = ()):
        self.name = name
        self.url = url
        self.history = history
        self.rng = rng
        self.max_ahead = max_ahead
        self.stop = stop
        self.token = None
        self.sequence = 0
        self.posts: dict[int, float] = {}  # id -> due (epoch) as last acknowledged; pending ones
        self.drafts: list[int] = []
        self.series: list[int] = []
        self.destinations = list(destinations)  # chosen for every post besides the feed

    # --- HTTP ---------------------------------------------------------------------------
    def call(self, op: str, method: str, path: str, body=None, *, auth=True):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Token {self.token}"
        request = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode() if body is not None else None, method=method, headers=headers,
        )
        entry = {"client": self.name, "op": op, "method": method, "path": path, "body": body, "send": time.time()}
        status, answer = None, None
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode(errors="replace")
        except (OSError, urllib.error.URLError) as error:
            text, entry["error"] = None, f"{error.__class__.__name__}: {error}"
        entry["recv"] = time.time()
        if text:
            try:
                answer = json.loads(text)
            except ValueError:
                answer = text[:300]
        entry["status"], entry["answer"] = status, answer
        self.history.record("ops", entry)
        return status, answer

    def login(self):
        while not self.stop.is_set():
            status, answer = self.call("login", "POST", "/api/auth/token/",
                                       {"username": self.name, "password": f"pw-{self.name}-123456"}, auth=False)
            if status == 200:
                self.token = answer["token"]
                return
            time.sleep(1)

    def text(self, what: str) -> str:
        self.sequence += 1
        return f"{self.name} {what} {self.sequence} {self.rng.getrandbits(32):08x}"

    # --- the loop -------------------------------------------------------------------------
    def run(self, *, ops_per_second: float):
        self.login()
        self.call("slots", "PUT", "/api/queue/slots/", [
            {"weekday": (datetime.now(timezone.utc).weekday() + 3) % 7, "time": "09:00"},
            {"weekday": (datetime.now(timezone.utc).weekday() + 4) % 7, "time": "18:30"},
        ])
        operations = [
            (30, self.schedule_one), (8, self.schedule_bulk), (15, self.edit), (10, self.cancel),
            (4, self.draft_create), (4, self.draft_schedule), (3, self.queue_take),
            (1, self.series_create), (1, self.series_stop),
        ]
        weights = [weight for weight, _ in operations]
        while not self.stop.is_set():
            self.rng.choices([op for _, op in operations], weights)[0]()
            self.stop.wait(self.rng.expovariate(ops_per_second))

    def ahead(self) -> float:
        return time.time() + self.rng.uniform(1, self.max_ahead)

    def chosen(self, body: dict) -> dict:
        return {**body, "destinations": self.destinations} if self.destinations else body

    def schedule_one(self):
        due = self.ahead()
        status, answer = self.call("schedule", "POST", "/api/scheduled-posts/", self.chosen({"text": self.text("post"), "publish_at": iso(due)}))
        if status == 201:
            self.posts[answer["id"]] = due

    def schedule_bulk(self):
        items = [self.chosen({"text": self.text("bulk"), "publish_at": iso(self.ahead())}) for _ in range(self.rng.randint(2, 20))]
        status, answer = self.call("schedule-bulk", "POST", "/api/scheduled-posts/", items)
        if status == 201:
            for item, post in zip(items, answer):
                self.posts[post["id"]] = datetime.fromisoformat(item["publish_at"]).timestamp()

    def pick(self) -> int | None:
        """A pending post of ours: half the time one due within the next 3 s (a race)."""
        now = time.time()
        known = [(pk, due) for pk, due in self.posts.items() if due > now - 1]
        if not known:
            return None
        racing = [pk for pk, due in known if due < now + 3]
        if racing and self.rng.random() < 0.5:
            return self.rng.choice(racing)
        return self.rng.choice(known)[0]

    def edit(self):
        pk = self.pick()
        if pk is None:
            return
        body = {"text": self.text("edited")}
        if self.rng.random() < 0.3:
            body["publish_at"] = iso(self.ahead())
        status, _ = self.call("edit", "PATCH", f"/api/scheduled-posts/{pk}/", body)
        if status == 200 and "publish_at" in body:
            self.posts[pk] = datetime.fromisoformat(body["publish_at"]).timestamp()

    def cancel(self):
        pk = self.pick()
        if pk is None:
            return
        status, _ = self.call("cancel", "DELETE", f"/api/scheduled-posts/{pk}/")
        if status in (204, 409):
            self.posts.pop(pk, None)

    def draft_create(self):
        status, answer = self.call("draft", "POST", "/api/scheduled-posts/", self.chosen({"text": self.text("draft"), "draft": True}))
        if status == 201:
            self.drafts.append(answer["id"])

    def draft_schedule(self):
        if not self.drafts:
            return
        pk = self.drafts.pop(self.rng.randrange(len(self.drafts)))
        due = self.ahead()
        status, _ = self.call("draft-schedule", "PATCH", f"/api/scheduled-posts/{pk}/", {"publish_at": iso(due)})
        if status == 200:
            self.posts[pk] = due

    def queue_take(self):
        self.call("queue", "POST", "/api/scheduled-posts/", self.chosen({"text": self.text("queued"), "queue": True}))

    def series_create(self):
        start = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None) + timedelta(seconds=self.rng.randint(20, 60))
        status, answer = self.call("series", "POST", "/api/series/", {
            "text": self.text("series"), "start": start.isoformat(), "timezone": "UTC",
            "rrule": f"FREQ=MINUTELY;INTERVAL=1;COUNT={self.rng.randint(2, 5)}",
        })
        if status == 201:
            self.series.append(answer["id"])

    def series_stop(self):
        if not self.series:
            return
        pk = self.series.pop(self.rng.randrange(len(self.series)))
        self.call("series-stop", "DELETE", f"/api/series/{pk}/")


class Operator:
    """Drains a node now and then, and activates it again a little later (manage.py on this
    machine, as an operator would), recorded like the clients' requests."""

    def __init__(self, *, cluster, history, rng: random.Random, stop: threading.Event):
        self.cluster, self.history, self.rng, self.stop = cluster, history, rng, stop
        self.drained: set[str] = set()

    def command(self, op: str, node: str):
        entry = {"client": "operator", "op": op, "node": node, "send": time.time()}
        result = self.cluster.manage_quietly(f"dispatcher_{op}", node)
        entry.update(recv=time.time(), exit=result.returncode, output=(result.stdout + result.stderr)[-300:])
        self.history.record("ops", entry)
        return result.returncode == 0

    def run(self):
        while not self.stop.wait(self.rng.uniform(40, 90)):
            node = self.rng.choice(NODES)
            if self.command("drain", node):
                self.drained.add(node)
            self.stop.wait(self.rng.uniform(10, 40))
            self.activate_all()

    def activate_all(self):
        for node in sorted(self.drained):
            if self.command("activate", node):
                self.drained.discard(node)
