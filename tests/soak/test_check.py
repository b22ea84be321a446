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
    published_once(run, 3, due=300, late=14)
    run.fault("pause-node", start=190, end=230)
    run.fault("mariadb-restart", start=295, end=305, target="mariadb")
    report = check(run.write())
    assert report.ok
    assert report.lateness["overall"]["max"] == 14_000
    assert report.lateness["while faults were active"]["count"] == 2
    assert report.lateness["during pause-node"]["max"] == 12_000
    text = report.text()
    assert report.over_goal == 1  # the database outage's post is within its 10 s plus the outage
    assert "post 2: 12.0 s late, due during pause-node a" in text


def test_a_database_outage_excuses_its_length_not_more(run):
    run.fault("mariadb-restart", start=100, end=115, target="mariadb")
    published_once(run, 1, due=105, late=19)  # 10 s left of the outage, then 9 s
    published_once(run, 2, due=105, late=21)  # 10 s of the outage, then 11 s
    published_once(run, 3, due=95, late=24)  # due before it went down, held up by all 15 s
    published_once(run, 4, due=88, late=14)  # over 10 s late by the time it began: not its doing
    report = check(run.write())
    assert report.over_goal == 2
    text = report.text()
    assert "post 2: 21.0 s late, due during mariadb-restart mariadb" in text
    assert "post 4: 14.0 s late, due during no fault; while it waited: mariadb-restart mariadb" in text
    assert "post 1:" not in text and "post 3:" not in text


def test_every_web_server_out_at_once_is_an_outage_but_one_is_not(run):
    run.fault("kill-web", start=100, end=112, target="web1")
    run.fault("link-down", start=104, end=120, target="web2")  # both out from 104 to 112
    published_once(run, 1, due=105, late=16)  # 7 s of the outage, then 9 s
    published_once(run, 2, due=101, late=19)  # only web1 out at its time, then both for 8 s: 11 s
    published_once(run, 3, due=114, late=11)  # web2 alone out
    report = check(run.write())
    assert report.over_goal == 2
    assert "post 1:" not in report.text()


def test_it_counts_the_late_posts_by_the_faults_active_at_their_due_time(run):
    run.fault("kill-beat", start=100, end=110, target="beat")
    run.fault("link-lossy", start=105, end=140, target="b")
    for pk, due in ((1, 101), (2, 102), (3, 106), (4, 120)):
        published_once(run, pk, due=due, late=11)
    published_once(run, 5, due=200, late=11)
    text = check(run.write()).text()
    assert "5 of them" not in text and "4 of them due while a fault was active" in text
    assert "  2 due during kill-beat beat\n" in text
    assert "  1 due during kill-beat beat + link-lossy b\n" in text
    assert "  1 due during link-lossy b\n" in text
    assert "  1 due during no fault at their due time" in text


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


def bluesky_delivery(pk, *, state="delivered", remote_id=None, text=None):
    return {"id": 100 + pk, "scheduled_post_id": pk, "key": f"k{pk}", "state": state, "attempts": 1, "error": "",
            "remote_id": remote_id or f"at://did:plc:x/app.bsky.feed.post/r{pk}", "kind": "bluesky", "text": text}


def test_it_finds_a_bluesky_post_missing_written_twice_or_with_another_text(run):
    texts = {pk: published_once(run, pk, due=100 + pk) for pk in (1, 2, 3, 4)}
    run.deliveries = [bluesky_delivery(pk, text=texts[pk]) for pk in (1, 2, 3, 4)]
    run.bluesky = [
        {"uri": "at://did:plc:x/app.bsky.feed.post/r1", "text": texts[1]},
        {"uri": "at://did:plc:x/app.bsky.feed.post/r3", "text": texts[3]},
        {"uri": "at://did:plc:x/app.bsky.feed.post/other", "text": texts[3]},  # written under another key
        {"uri": "at://did:plc:x/app.bsky.feed.post/r4", "text": "something else"},
    ]
    text = check(run.write()).text()
    assert "VIOLATION post 1" not in text
    assert "VIOLATION post 2: delivery 102 is delivered, but the PDS has no record" in text
    assert "VIOLATION post 3: the PDS holds 2 records with the post's text" in text
    assert "VIOLATION post 4: the PDS record at://did:plc:x/app.bsky.feed.post/r4 has the text 'something else'" in text
    assert "VIOLATION PDS: 1 records that no delivery wrote" in text
    assert "bluesky: 4 deliveries, 4 delivered, 4 records in the PDS" in text


def test_a_post_may_go_to_a_webhook_and_to_bluesky_once_each(run):
    text = published_once(run, 1, due=100)
    run.deliveries = [
        {"id": 1, "scheduled_post_id": 1, "key": "msg_1", "state": "delivered", "attempts": 1, "error": "",
         "remote_id": "", "kind": "webhook", "text": text},
        bluesky_delivery(1, text=text),
    ]
    run.receiver = [["msg_1", "1", "applied"]]
    run.bluesky = [{"uri": "at://did:plc:x/app.bsky.feed.post/r1", "text": text}]
    assert check(run.write()).ok
