"""The soak's checker on synthetic histories: it must find each kind of violation, and only those."""
from soak.check import check


def published_once(run, pk, *, due, late=0.2, text=None):
    text = run.schedule(pk, due=due, at=due - 30, text=text)
    run.row(pk, due=due, status="published", text=text)
    run.published(pk, due=due, late=late, text=text)
    return text


def test_it_passes_a_clean_history(run):
    for pk in range(1, 6):
        published_once(run, pk, due=100 + pk)
    report = check(run.write())
    assert report.ok, report.text()
    assert report.published == 5
    assert report.lateness["overall"]["p50"] == 200


def test_it_finds_a_lost_post(run):
    text = run.schedule(1, due=100)
    run.row(1, due=100, status="failed", text=text)
    report = check(run.write())
    assert not report.ok
    assert "VIOLATION post 1: not published (status failed" in report.text()
    assert "alice schedule POST /api/scheduled-posts/" in report.text()  # the post's whole history


def test_it_waits_for_nothing_due_after_the_end(run):
    text = run.schedule(1, due=run.end + 60)
    run.row(1, due=run.end + 60, status="pending", text=text)
    assert check(run.write()).ok


def test_it_finds_a_post_published_twice(run):
    text = published_once(run, 1, due=100)
    run.published(1, due=100, late=0.5, text=text)
    assert "published 2 times" in check(run.write()).text()


def test_it_finds_a_duplicate_that_bypassed_the_key(run):
    text = published_once(run, 1, due=100)
    run.posts.append({**run.posts[0], "id": 99, "scheduled_post_id": None})
    assert "its text is in 2 feed posts" in check(run.write()).text()


def test_it_finds_an_early_post(run):
    published_once(run, 1, due=100, late=-0.01)
    assert "published 0.010 s early" in check(run.write()).text()


def test_it_finds_a_post_published_though_its_cancel_was_acknowledged(run):
    published_once(run, 1, due=100)
    run.request("cancel", 1, at=90, status=204, method="DELETE")
    assert "published though a cancel was answered 204" in check(run.write()).text()


def test_a_cancel_without_an_answer_may_have_worked_or_not(run):
    published_once(run, 1, due=100)
    run.request("cancel", 1, at=99.5, status=None, method="DELETE")
    text = run.schedule(2, due=100)
    run.row(2, due=100, status="cancelled", text=text)
    run.request("cancel", 2, at=99.5, status=503, method="DELETE")
    assert check(run.write()).ok


def test_a_cancel_answered_409_means_the_post_must_be_out(run):
    text = run.schedule(1, due=100)
    run.row(1, due=100, status="pending", text=text)
    run.request("cancel", 1, at=100.1, status=409, method="DELETE")
    assert "not published" in check(run.write()).text()


def test_it_finds_an_acknowledged_edit_that_lost(run):
    published_once(run, 1, due=100)  # with the old text
    run.request("edit", 1, at=98, status=200, body={"text": "alice edited 1"})
    assert "not an acknowledged one" in check(run.write()).text()


def test_an_edit_without_an_answer_may_have_won_or_not(run):
    text = run.schedule(1, due=100)
    run.request("edit", 1, at=99.8, status=None, body={"text": "alice edited 1"})
    run.row(1, due=100, status="published", text="alice edited 1")
    run.published(1, due=100, late=0.1, text="alice edited 1")
    assert check(run.write()).ok, text


def test_it_finds_a_post_published_at_a_time_it_was_moved_from(run):
    text = run.schedule(1, due=100)
    run.request("edit", 1, at=50, status=200, body={"publish_at": run.api_time(120)})
    run.row(1, due=100, status="published", text=text)
    run.published(1, due=100, late=0.1, text=text)
    assert "published for a time no acknowledged request gave it" in check(run.write()).text()


def test_it_finds_an_occurrence_published_after_its_series_was_stopped(run):
    run.ops.append({"client": "alice", "op": "series-stop", "method": "DELETE", "path": "/api/series/7/",
                    "body": None, "send": 1_800_000_050.0, "recv": 1_800_000_050.1, "status": 204, "answer": None})
    for pk, due in ((1, 40), (2, 100)):
        run.row(pk, due=due, status="published", text="alice series", series=7)
        run.published(pk, due=due, late=0.1, text="alice series")
    report = check(run.write())
    assert "VIOLATION post 2: published after its series was stopped" in report.text()
    assert "VIOLATION post 1" not in report.text()


def test_it_reports_lateness_while_faults_were_active_apart(run):
    published_once(run, 1, due=100, late=0.1)
    published_once(run, 2, due=200, late=12)
    published_once(run, 3, due=300, late=20)
    run.fault("pause-node", start=190, end=230)
    run.fault("mariadb-restart", start=295, end=305, target="mariadb")
    report = check(run.write())
    assert report.ok
    assert report.lateness["overall"]["max"] == 20_000
    assert report.lateness["while faults were active"]["count"] == 2
    assert report.lateness["during pause-node"]["max"] == 12_000
    text = report.text()
    assert "published more than 10 s late: 1" in text  # the database outage's post is aside
    assert "post 2: 12.0 s late, due during pause-node a" in text


def test_it_finds_a_row_and_the_feed_that_disagree(run):
    text = published_once(run, 1, due=100)
    run.rows[0]["status"] = "pending"
    text2 = run.schedule(2, due=100)
    run.row(2, due=100, status="published", text=text2)
    report = check(run.write()).text()
    assert "VIOLATION post 1: in the feed, but its row says pending" in report
    assert "VIOLATION post 2: marked published, but not in the feed" in report, text


def test_it_finds_a_webhook_that_never_arrived_or_arrived_twice(run):
    for pk in (1, 2, 3):
        published_once(run, pk, due=100 + pk)
    run.deliveries = [
        {"id": 1, "scheduled_post_id": 1, "key": "msg_1", "state": "delivered", "attempts": 1, "error": ""},
        {"id": 2, "scheduled_post_id": 2, "key": "msg_2", "state": "delivered", "attempts": 2, "error": ""},
        {"id": 3, "scheduled_post_id": 3, "key": "msg_3", "state": "delivered", "attempts": 1, "error": ""},
    ]
    run.receiver = [["msg_1", "1", "applied"], ["msg_1", "1", "repeat"], ["msg_3", "3", "applied"], ["msg_3", "3", "applied"]]
    text = check(run.write()).text()
    assert "VIOLATION post 1" not in text  # a repeat of an id is acknowledged, not applied again
    assert "VIOLATION post 2: delivery 2 is delivered, but its webhook-id never reached the receiver" in text
    assert "VIOLATION post 3: webhook-id msg_3 applied 2 times" in text
