"""The soak's checker: `python -m soak.check <history dir>`. It reads the clients' requests
and answers, the faults, and the database as the run left it (soak.history), never psched's
own counters, and checks every scheduled post:

- at most once: one feed post per scheduled post, and no two feed posts with its text (the
  clients' texts are unique, so a duplicate that bypassed the unique key shows too);
- never early: no feed post published before its scheduled time, by the database clock;
- exactly once: a post whose creation (or scheduling, for a draft) was acknowledged, that no
  cancel could have hit, and that fell due before the end, is published;
- the answers hold: a cancel answered 204 means never published; an edit answered 200 means
  the published text and time are that edit's (or those of a later edit whose answer was
  lost). The API answers only after its transaction committed, so these need no margin. A
  stopped series needs one: its stop cancels the occurrences not yet claimed, so an
  occurrence due more than STOP_MARGIN after the stop's answer must not be published.
- every delivery reached its destination once, none failed for good: a webhook's id applied
  at the receiver once, one id per post, no bad signature; a Bluesky post one record in the
  PDS (listRecords), under the key its delivery fixed, with the post's text, and no record
  that no delivery wrote;
- lateness (published_at - scheduled_for, from the feed posts) p50, p99 and max, overall, for
  posts due while faults were active, and per kind of fault; and the goal: every post within
  LATE_GOAL of its time, an outage (the database, or every web server) adding its length for
  the posts it held up. The posts over it are counted by the faults active at their due
  time, and listed with those and the faults that began while they waited.

A violation prints the post's whole history: its row, its feed posts, every request about it,
and the faults around its due time."""
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .cluster import WEBS
from .history import read_jsonl

STOP_MARGIN = 5.0  # seconds: a tick, its look-ahead, the lease of a claim made just before the stop
LATE_GOAL = 10.0  # seconds: any post, under any fault; an outage adds its length
OUTAGES = ("mariadb-restart",)  # faults that stop everything for their length
WEB_OUT = ("kill-web", "link-down")  # a web server out; all of them out at once is an outage too


def epoch(value) -> float | None:
    """A time from the database (naive UTC text) or an API answer (ISO 8601 with offset)."""
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def unknown(op: dict) -> bool:
    """No answer, or one that does not say whether the change was made (a 5xx)."""
    return op.get("status") is None or op["status"] >= 500


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * (len(ordered) - 1) + 0.5))]


@dataclass
class Report:
    posts: int = 0
    published: int = 0
    violations: list[str] = field(default_factory=list)
    lateness: dict = field(default_factory=dict)
    over_goal: int = 0  # posts published later than the goal allows
    faults: int = 0
    ops: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def text(self) -> str:
        lines = [f"checked {self.posts} scheduled posts ({self.published} published), {self.ops} requests, {self.faults} faults"]
        for name, figures in self.lateness.items():
            if figures["count"]:
                lines.append(
                    f"lateness {name}: {figures['count']} posts, p50 {figures['p50']:.0f} ms, "
                    f"p99 {figures['p99']:.0f} ms, max {figures['max']:.0f} ms"
                )
            else:
                lines.append(f"lateness {name}: no posts")
        lines += self.notes
        lines.append(f"{len(self.violations)} violations" if self.violations else "no violations")
        lines += self.violations
        return "\n".join(lines)


class History:
    def __init__(self, directory: Path):
        directory = Path(directory)
        self.meta = json.loads((directory / "meta.json").read_text())
        self.ops = read_jsonl(directory / "ops.jsonl")
        self.faults = read_jsonl(directory / "faults.jsonl")
        self.events = read_jsonl(directory / "events.jsonl")
        self.db = json.loads((directory / "db.json").read_text())
        # The clients' and the nemesis' times are on this machine's clock; the database's decide.
        offset = self.meta.get("clock_offset", 0.0)
        for entry in (*self.ops, *self.faults, *self.events):
            for key in ("send", "recv", "start", "end", "at"):
                if entry.get(key) is not None:
                    entry[key] -= offset
        self.started = min((op["send"] for op in self.ops), default=0.0)
        end = directory / "end.json"
        self.end = json.loads(end.read_text()) if end.exists() else {}


def _post_ops(ops: list[dict]) -> tuple[dict, dict]:
    """Requests by scheduled post id and by series id."""
    by_post, by_series = defaultdict(list), defaultdict(list)
    for op in ops:
        answer = op.get("answer")
        if op["op"] in ("schedule", "draft", "queue") and op.get("status") == 201:
            by_post[answer["id"]].append(op)
        elif op["op"] == "schedule-bulk" and op.get("status") == 201:
            for index, post in enumerate(answer):
                by_post[post["id"]].append({**op, "body": op["body"][index], "answer": post})
        elif op["op"] in ("edit", "cancel", "draft-schedule"):
            by_post[int(op["path"].rstrip("/").rsplit("/", 1)[1])].append(op)
        elif op["op"] == "series" and op.get("status") == 201:
            by_series[answer["id"]].append(op)
        elif op["op"] == "series-stop":
            by_series[int(op["path"].rstrip("/").rsplit("/", 1)[1])].append(op)
    return by_post, by_series


def check(directory: Path) -> Report:
    history = History(directory)
    db = history.db
    db_now = epoch(db["db_now"])
    report = Report(posts=len(db["scheduled_posts"]), faults=len(history.faults), ops=len(history.ops))
    by_post, by_series = _post_ops(history.ops)
    feed_by_post, feed_by_text = defaultdict(list), defaultdict(list)
    for post in db["posts"]:
        feed_by_post[post["scheduled_post_id"]].append(post)
        feed_by_text[(post["author"], post["text"])].append(post)
    rows = {row["id"]: row for row in db["scheduled_posts"]}
    series_stops = {
        pk: min((op["recv"] for op in ops if op["op"] == "series-stop" and op.get("status") == 204), default=None)
        for pk, ops in by_series.items()
    }
    late_all, late_faults, late_by_kind = [], [], defaultdict(list)
    over_goal = []
    outages = sorted(
        [(fault["start"], fault["end"]) for fault in history.faults if fault["kind"] in OUTAGES] + webs_all_out(history.faults)
    )

    for pk, row in sorted(rows.items()):
        feed = feed_by_post.get(pk, [])
        ops = sorted(by_post.get(pk, []), key=lambda op: op["send"])
        problems = []
        if len(feed) > 1:
            problems.append(f"published {len(feed)} times")
        for post in feed:
            twins = feed_by_text[(post["author"], post["text"])]
            if len(twins) > 1 and len(feed) == 1 and row["series_id"] is None:  # a series' occurrences share it
                problems.append(f"its text is in {len(twins)} feed posts")
            if epoch(post["published_at"]) < epoch(post["scheduled_for"]):
                problems.append(f"published {epoch(post['scheduled_for']) - epoch(post['published_at']):.3f} s early")
            if abs(epoch(post["scheduled_for"]) - epoch(row["publish_at"])) > 0.001:
                problems.append("published for another time than its own")
        if feed and row["status"] != "published":
            problems.append(f"in the feed, but its row says {row['status']}")
        if row["status"] == "published" and not feed:
            problems.append("marked published, but not in the feed")
        problems += _answers_hold(row, ops, feed)
        expected = _expected(row, ops, db_now, series_stops)
        if expected and not feed:
            problems.append(f"not published (status {row['status']}, last error {row['last_error']!r})")
        stop = series_stops.get(row["series_id"])
        if feed and stop is not None and epoch(row["publish_at"]) > stop + STOP_MARGIN:
            problems.append("published after its series was stopped")
        if problems:
            report.violations.append(_story(pk, row, feed, ops, history, problems))
        for post in feed[:1]:
            report.published += 1
            late = epoch(post["published_at"]) - epoch(post["scheduled_for"])
            due = epoch(post["scheduled_for"])
            late_all.append(late)
            active = [fault for fault in history.faults if fault["start"] <= due <= fault["end"]]
            if active:
                late_faults.append(late)
                for kind in {fault["kind"] for fault in active}:
                    late_by_kind[kind].append(late)
            if late > late_allowed(due, outages):
                waited = [fault for fault in history.faults if due < fault["start"] <= due + late]
                over_goal.append((late, pk, _names(active), _names(waited)))

    def figures(values):
        return {"count": len(values), "p50": round((percentile(values, 0.5) or 0) * 1000, 1),
                "p99": round((percentile(values, 0.99) or 0) * 1000, 1), "max": round(max(values, default=0) * 1000, 1)}

    report.lateness["overall"] = figures(late_all)
    report.lateness["while faults were active"] = figures(late_faults)
    for kind in sorted(late_by_kind):
        report.lateness[f"during {kind}"] = figures(late_by_kind[kind])
    answered = defaultdict(int)
    for op in history.ops:
        if op["client"] == "operator":
            answered["node drains and activations"] += 1
            continue
        answered["no answer" if op.get("status") is None else f"{op['status'] // 100}xx"] += 1
    report.notes.append("answers: " + ", ".join(f"{count} {kind}" for kind, count in sorted(answered.items())))
    kinds = defaultdict(int)
    for fault in history.faults:
        kinds[fault["kind"]] += 1
    if history.events:
        report.notes.append("processes that exited by themselves (started again by the supervisor): " + ", ".join(
            f"{event['target']} at +{event['at'] - history.started:.0f} s ({event['kind']}"
            + (f", code {event['code']})" if "code" in event else ")") for event in history.events))
    if history.end.get("not_running_at_end"):
        report.notes.append("not running when the workload ended (started again): " + ", ".join(history.end["not_running_at_end"]))
    report.notes.append("faults: " + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())))
    report.over_goal = len(over_goal)
    report.notes.append(
        f"posts published more than {LATE_GOAL:.0f} s late (an outage of the database or of every web server "
        f"adding its length): {len(over_goal)}, "
        f"{sum(bool(active) for _, _, active, _ in over_goal)} of them due while a fault was active"
    )
    causes = defaultdict(int)
    for _, _, active, _ in over_goal:
        causes[" + ".join(active) or "no fault at their due time"] += 1
    for cause, count in sorted(causes.items(), key=lambda item: -item[1]):
        report.notes.append(f"  {count} due during {cause}")
    for late, pk, active, waited in sorted(over_goal, reverse=True)[:15]:
        report.notes.append(
            f"  post {pk}: {late:.1f} s late, due during {', '.join(active) or 'no fault'}"
            + (f"; while it waited: {', '.join(waited)}" if waited else "")
        )
    _check_deliveries(history, rows, feed_by_post, report)
    return report


def webs_all_out(faults: list[dict]) -> list[tuple[float, float]]:
    """The spans during which every web server was killed or cut off: nothing could be
    published then (the nodes publish through them), as while the database is away."""
    spans = [[(fault["start"], fault["end"]) for fault in faults if fault["kind"] in WEB_OUT and fault["target"] == web]
             for web in WEBS]
    common = spans[0]
    for other in spans[1:]:
        common = [(max(a, c), min(b, d)) for a, b in common for c, d in other if max(a, c) < min(b, d)]
    return common


def late_allowed(due: float, outages: list[tuple[float, float]]) -> float:
    """How late a post due at `due` may be: LATE_GOAL, plus the part after `due` of each
    outage (the database away, every web server out) that began before the post would have
    been late: nothing is published meanwhile, so an outage delays the posts it catches by
    its length."""
    allowed = LATE_GOAL
    for start, end in outages:  # by start
        if start <= due + allowed and end > due:
            allowed += end - max(start, due)
    return allowed


def _names(faults: list[dict]) -> list[str]:
    return sorted({f"{fault['kind']} {fault['target']}" for fault in faults})


def _check_deliveries(history: History, rows: dict, feed_by_post: dict, report: Report) -> None:
    """Every delivery of a published post reached its destination once, none failed for good,
    one delivery per post and destination. A webhook: its webhook-id applied at the receiver
    (a repeat of an id is acknowledged, not applied again), never another id for the same
    post, no bad signature. Bluesky: the PDS holds one record per post (listRecords), under the
    record key its delivery fixed before the first try, with the post's text, and no record
    that no delivery wrote."""
    deliveries = history.db.get("deliveries", [])
    lines = history.db.get("receiver", [])
    records = history.db.get("bluesky", [])
    applied = defaultdict(int)
    for webhook_id, _, what in lines:
        if what == "applied":
            applied[webhook_id] += 1
    bad = [line for line in lines if line[2] == "bad"]
    if bad:
        report.violations.append(f"VIOLATION receiver: {len(bad)} requests with a bad signature, e.g. {bad[:3]}")
    by_uri = defaultdict(list)
    for record in records:
        by_uri[record["uri"]].append(record)
    by_text = defaultdict(int)
    for record in records:
        by_text[record["text"]] += 1
    by_post = defaultdict(list)
    for delivery in deliveries:
        by_post[delivery["scheduled_post_id"]].append(delivery)
    for pk, found in sorted(by_post.items(), key=lambda item: item[0] or 0):
        problems = []
        kinds = defaultdict(int)
        for delivery in found:
            kinds[delivery.get("kind", "webhook")] += 1
        problems += [f"{count} deliveries to one {kind} destination" for kind, count in kinds.items() if count > 1]
        for delivery in found:
            if delivery["state"] in ("failed", "pending", "sending", "unconfirmed"):
                problems.append(f"delivery {delivery['id']} ended {delivery['state']} ({delivery['error'][:200]!r})")
            if delivery.get("kind", "webhook") == "bluesky":
                problems += _bluesky_problems(delivery, by_uri, by_text)
                continue
            times = applied.get(delivery["key"], 0)
            if delivery["state"] == "delivered" and times == 0:
                problems.append(f"delivery {delivery['id']} is delivered, but its webhook-id never reached the receiver")
            if times > 1:
                problems.append(f"webhook-id {delivery['key']} applied {times} times")
        if problems and pk in rows:
            report.violations.append(_story(pk, rows[pk], feed_by_post.get(pk, []), [], history, problems))
        elif problems:
            report.violations.append(f"VIOLATION deliveries of post {pk}: {'; '.join(problems)}")
    written = {delivery["remote_id"] for delivery in deliveries if delivery.get("kind") == "bluesky"}
    stray = [record for record in records if record["uri"] not in written]
    if stray:
        report.violations.append(
            f"VIOLATION PDS: {len(stray)} records that no delivery wrote (a post written under another key?), "
            f"e.g. {stray[:3]}")
    hooks = [delivery for delivery in deliveries if delivery.get("kind", "webhook") != "bluesky"]
    sky = [delivery for delivery in deliveries if delivery.get("kind") == "bluesky"]
    repeats = sum(line[2] == "repeat" for line in lines)
    report.notes.append(
        f"webhooks: {len(hooks)} deliveries, {sum(d['state'] == 'delivered' for d in hooks)} delivered, "
        f"{len(lines)} requests at the receiver ({repeats} repeats of an id already applied)"
    )
    report.notes.append(
        f"bluesky: {len(sky)} deliveries, {sum(d['state'] == 'delivered' for d in sky)} delivered, "
        f"{len(records)} records in the PDS, {sum(d['attempts'] for d in sky)} tries"
    )


def _bluesky_problems(delivery: dict, by_uri: dict, by_text: dict) -> list[str]:
    """One record per post: under its delivery's key (remote_id, fixed before the first try),
    with the post's text, and no second record with that text."""
    problems = []
    found = by_uri.get(delivery["remote_id"], []) if delivery["remote_id"] else []
    if delivery["state"] == "delivered" and not found:
        problems.append(f"delivery {delivery['id']} is delivered, but the PDS has no record {delivery['remote_id']!r}")
    for record in found:
        if record["text"] != delivery["text"]:
            problems.append(f"the PDS record {record['uri']} has the text {record['text']!r}, not the post's")
    if by_text.get(delivery["text"], 0) > 1:
        problems.append(f"the PDS holds {by_text[delivery['text']]} records with the post's text")
    return problems


def _answers_hold(row: dict, ops: list[dict], feed: list[dict]) -> list[str]:
    problems = []
    if any(op["op"] == "cancel" and op.get("status") == 204 for op in ops):
        if feed:
            problems.append("published though a cancel was answered 204")
        return problems
    if not feed:
        return problems
    # The text and time the post must have been published with: its creation's, then each
    # acknowledged edit's; an edit whose answer was lost may or may not have been applied.
    texts, times = set(), set()
    for op in ops:
        body = op.get("body") or {}
        if op["op"] in ("schedule", "schedule-bulk", "queue", "draft"):
            texts, times = {body.get("text")}, {epoch((op.get("answer") or {}).get("publish_at"))}
        elif op["op"] in ("edit", "draft-schedule") and (op.get("status") == 200 or unknown(op)):
            applied_texts = {body["text"]} if "text" in body else set()
            applied_times = {epoch(body["publish_at"])} if "publish_at" in body else set()
            if op.get("status") == 200:
                texts = applied_texts or texts
                times = applied_times or times
            else:
                texts |= applied_texts
                times |= applied_times
    post = feed[0]
    if texts and None not in texts and post["text"] not in texts:
        problems.append(f"published with the text {post['text']!r}, not an acknowledged one ({sorted(texts)})")
    if times and None not in times and not any(abs(epoch(post["scheduled_for"]) - moment) <= 0.001 for moment in times):
        problems.append("published for a time no acknowledged request gave it")
    return problems


def _expected(row: dict, ops: list[dict], db_now: float, series_stops: dict) -> bool:
    """Must this post have been published by the end of the run?"""
    if row["publish_at"] is None or epoch(row["publish_at"]) > db_now - 2:
        return False
    if row["series_id"] is not None:
        stop = series_stops.get(row["series_id"])
        stop_tried = stop is not None or row["series_id"] in series_stops  # a stop without a clear answer
        return not stop_tried and row["status"] != "cancelled"
    acknowledged = any(
        (op["op"] in ("schedule", "schedule-bulk", "queue") and op.get("status") == 201)
        or (op["op"] == "draft-schedule" and op.get("status") == 200)
        for op in ops
    )
    cancel_tried = any(op["op"] == "cancel" and (op.get("status") == 204 or unknown(op)) for op in ops)
    # An edit whose answer was lost may have moved the post past the end of the run.
    late_move = any(
        op["op"] in ("edit", "draft-schedule") and unknown(op) and "publish_at" in (op.get("body") or {})
        and epoch(op["body"]["publish_at"]) > db_now - 2
        for op in ops
    )
    return acknowledged and not cancel_tried and not late_move


def _story(pk: int, row: dict, feed: list[dict], ops: list[dict], history: History, problems: list[str]) -> str:
    started = history.started
    lines = [f"VIOLATION post {pk}: {'; '.join(problems)}", f"  row: {json.dumps(row, default=str)}"]
    lines += [f"  feed post: {json.dumps(post, default=str)}" for post in feed]
    for op in ops:
        lines.append(
            f"  +{op['send'] - started:8.3f}s .. +{op['recv'] - started:8.3f}s {op['client']} {op['op']} "
            f"{op.get('method')} {op.get('path')} {json.dumps(op.get('body'))} -> {op.get('status')} "
            f"{json.dumps(op.get('answer'), default=str)[:300]} {op.get('error', '')}"
        )
    due = epoch(row["publish_at"])
    if due is not None:
        for fault in history.faults:
            if fault["start"] - 60 <= due <= fault["end"] + 60:
                lines.append(
                    f"  fault +{fault['start'] - started:8.3f}s .. +{fault['end'] - started:8.3f}s {fault['kind']} "
                    f"{fault['target']} {fault.get('params') or ''} {fault.get('error', '')}"
                )
        lines.append(f"  due at +{due - started:.3f}s")
    return "\n".join(lines)


def story(directory: Path, pk: int) -> str:
    """One post's whole history, violation or not (`--post ID`)."""
    history = History(directory)
    by_post, _ = _post_ops(history.ops)
    rows = {row["id"]: row for row in history.db["scheduled_posts"]}
    feed = [post for post in history.db["posts"] if post["scheduled_post_id"] == pk]
    return _story(pk, rows[pk], feed, sorted(by_post.get(pk, []), key=lambda op: op["send"]), history, ["its history"])


def main(argv=None):
    argv = argv if argv is not None else sys.argv[1:]
    if len(argv) == 3 and argv[1] == "--post":
        print(story(Path(argv[0]), int(argv[2])))
        return
    if len(argv) != 1:
        sys.exit("usage: python -m soak.check <history dir> [--post ID]")
    report = check(Path(argv[0]))
    print(report.text())
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
