"""The parts of psched.lib.bluesky that need no PDS: record keys, text, records, rate limits.
tests/integration/test_bluesky_pds.py runs the rest against a real one."""
from datetime import datetime, timedelta, timezone

from psched.lib.bluesky import (
    GRAPHEME_LIMIT,
    RateLimit,
    grapheme_count,
    post_record,
    record_json,
    record_key,
    record_key_instant,
    text_problem,
)

INSTANT = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=timezone.utc)


def test_it_derives_the_same_record_key_from_the_same_delivery():
    assert record_key(instant=INSTANT, delivery_id=42) == record_key(instant=INSTANT, delivery_id=42)


def test_it_makes_a_valid_tid():
    key = record_key(instant=INSTANT, delivery_id=123_456_789)
    assert len(key) == 13
    assert key[0] in "234567abcdefghij"  # the top bit of a TID is 0
    assert set(key) <= set("234567abcdefghijklmnopqrstuvwxyz")


def test_it_gives_deliveries_of_one_instant_distinct_keys():
    keys = {record_key(instant=INSTANT, delivery_id=pk) for pk in range(1, 5001)}
    assert len(keys) == 5000


def test_it_keeps_the_delivery_instant_in_the_key():
    assert record_key_instant(record_key(instant=INSTANT, delivery_id=7)) == INSTANT
    # The part of the id above the clock id moves the instant by a microsecond per 1024.
    assert record_key_instant(record_key(instant=INSTANT, delivery_id=3 * 1024 + 7)) == INSTANT + timedelta(microseconds=3)


def test_its_keys_sort_by_time():
    earlier = record_key(instant=INSTANT, delivery_id=999)
    later = record_key(instant=INSTANT + timedelta(milliseconds=1), delivery_id=1)
    assert earlier < later


def test_it_counts_graphemes_not_code_points():
    assert grapheme_count("abc") == 3
    assert grapheme_count("🇫🇷") == 1  # two regional indicators
    assert grapheme_count("👨‍👩‍👧‍👦") == 1  # seven code points joined
    assert grapheme_count("e\u0301") == 1  # e and a combining accent
    assert grapheme_count("👍🏽") == 1  # a skin tone modifier


def test_it_takes_300_graphemes_and_refuses_301():
    assert text_problem("👍🏽" * GRAPHEME_LIMIT) is None
    problem = text_problem("a" * (GRAPHEME_LIMIT + 1))
    assert "at most 300 characters" in problem and "301" in problem


def test_it_refuses_a_text_over_3000_bytes():
    # 300 graphemes of 7 code points each: within the grapheme limit, over the byte limit.
    assert "bytes" in text_problem("👨‍👩‍👧‍👦" * 150)


def test_it_builds_a_post_record():
    record = post_record(text="hi", created_at=INSTANT, langs=["fr"], facets=[])
    assert record == {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-12-03T09:30:15.123Z", "langs": ["fr"]}


def test_it_serializes_a_record_the_same_way_every_time():
    record = post_record(text="héllo", created_at=INSTANT)
    reordered = dict(reversed(list(record.items())))
    assert record_json(record) == record_json(reordered)
    assert "héllo".encode() in record_json(record)


def test_it_reads_the_rate_limit_headers():
    limit = RateLimit.from_headers({
        "RateLimit-Limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": "1796290215",
        "ratelimit-policy": "5000;w=3600",
    })
    assert limit == RateLimit(limit=5000, remaining=0, reset_at=datetime(2026, 12, 3, 9, 30, 15, tzinfo=timezone.utc),
                              policy="5000;w=3600")
    assert limit.exhausted
    assert RateLimit.from_headers({"content-type": "application/json"}) is None
