"""psched.lib.bluesky against a real AT Protocol PDS (stack.LocalPds: @atproto/pds with its PLC
directory, installed by `make pds`): the idempotent create, the read-back after an unknown
outcome, a PDS killed and started again, logins and app passwords, text limits, facets and
rate limits. Nothing of the PDS is mocked; faults come from a proxy in front of it or from
killing its process."""
import itertools
from datetime import datetime, timezone

import pytest

from psched.lib.bluesky import (
    GRAPHEME_LIMIT,
    BlueskyClient,
    LoginRefused,
    OutcomeUnknown,
    RateLimited,
    RecordKeyTaken,
    Refused,
    Unavailable,
    post_record,
    record_key,
    text_problem,
)
from stack import FaultProxy, free_port
from stack.pds import LocalPds

pytestmark = pytest.mark.integration

_numbers = itertools.count(1)


class Account:
    def __init__(self, pds: LocalPds):
        self.pds = pds
        self.handle = f"user{next(_numbers)}-{free_port()}.test"
        self.password = "account-password-1"
        self.did = pds.create_account(self.handle, self.password)
        self.app_password = pds.create_app_password(self.handle, self.password, "psched")

    def client(self, url: str | None = None, **kwargs) -> BlueskyClient:
        return BlueskyClient(url or self.pds.url, self.handle, self.app_password, **kwargs)

    def records(self) -> list[dict]:
        return self.pds.list_records(self.did)

    def latest_commit(self) -> str:
        return self.pds.call("GET", "com.atproto.sync.getLatestCommit", params=f"did={self.did}")["rev"]


@pytest.fixture
def account(pds):
    return Account(pds)


def a_post(text: str = "hello from psched", delivery_id: int = 1):
    now = datetime.now(timezone.utc)
    return record_key(instant=now, delivery_id=delivery_id), post_record(text=text, created_at=now)


def test_it_writes_the_post_under_its_record_key(account):
    rkey, record = a_post()
    written = account.client().put_post(rkey, record)
    assert written.uri == f"at://{account.did}/app.bsky.feed.post/{rkey}"
    (stored,) = account.records()
    assert stored["uri"] == written.uri and stored["cid"] == written.cid
    assert stored["value"] == record


def test_an_identical_retry_answers_the_same_cid_and_writes_nothing(account):
    client = account.client()
    rkey, record = a_post()
    first = client.put_post(rkey, record)
    commit = account.latest_commit()
    again = client.put_post(rkey, dict(reversed(list(record.items()))))
    assert again.cid == first.cid
    assert account.latest_commit() == commit  # no new commit in the repository
    assert len(account.records()) == 1


def test_a_different_record_under_the_key_is_refused_and_the_first_stays(account):
    client = account.client()
    rkey, record = a_post("the first")
    client.put_post(rkey, record)
    with pytest.raises(RecordKeyTaken):
        client.put_post(rkey, {**record, "text": "another"})
    assert [stored["value"]["text"] for stored in account.records()] == ["the first"]


def test_a_retry_with_other_facets_finds_the_post_an_earlier_try_wrote(account):
    client = account.client()
    rkey, record = a_post("bonjour")
    first = client.put_post(rkey, record)
    assert client.put_post(rkey, {**record, "langs": ["fr"]}).cid == first.cid
    assert [stored["value"] for stored in account.records()] == [record]


def test_reconcile_tells_written_from_not_written(account):
    client = account.client()
    rkey, record = a_post()
    assert client.reconcile(rkey, record) is None
    written = client.put_post(rkey, record)
    assert client.reconcile(rkey, record) == written
    with pytest.raises(RecordKeyTaken):
        client.reconcile(rkey, {**record, "text": "another"})


def test_a_dropped_answer_is_an_unknown_outcome_that_reconcile_settles(account):
    proxy = FaultProxy(account.pds.port)
    try:
        client = account.client(f"http://127.0.0.1:{proxy.port}")
        client.login()
        rkey, record = a_post()
        proxy.mode = "drop"
        with pytest.raises(OutcomeUnknown):
            client.put_post(rkey, record)
        assert proxy.dropped == 1
        proxy.mode = "forward"
        written = client.reconcile(rkey, record)
        assert written is not None  # the PDS wrote it though the answer was lost
        assert client.put_post(rkey, record).cid == written.cid  # and the retry writes nothing more
        assert len(account.records()) == 1
    finally:
        proxy.close()


def test_an_unreachable_pds_is_unavailable_with_nothing_sent(account):
    client = account.client(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(Unavailable) as raised:
        client.login()
    assert not isinstance(raised.value, OutcomeUnknown)


def test_a_killed_pds_keeps_its_posts_and_the_session_after_a_restart(account):
    client = account.client()
    rkey, record = a_post()
    first = client.put_post(rkey, record)
    session = client.session
    account.pds.restart()  # SIGKILL, then the same data directory
    restored = account.client(session=session)
    assert restored.put_post(rkey, record).cid == first.cid
    assert len(account.records()) == 1


def test_a_wrong_app_password_is_refused_at_login(account):
    client = BlueskyClient(account.pds.url, account.handle, "aaaa-bbbb-cccc-dddd")
    with pytest.raises(LoginRefused) as raised:
        client.login()
    assert "app password" in str(raised.value)


def test_a_revoked_app_password_is_refused_at_the_next_refresh(account):
    client = account.client(max_token_age=0)  # refresh before every call
    rkey, record = a_post()
    client.put_post(rkey, record)
    account.pds.revoke_app_password(account.handle, account.password, "psched")
    later_key, later_record = a_post("after the revocation", delivery_id=2)
    with pytest.raises(LoginRefused) as raised:
        client.put_post(later_key, later_record)  # the refresh token went with the password
    assert "revoked" in str(raised.value)
    assert len(account.records()) == 1


def test_without_a_refresh_a_revoked_password_works_until_its_token_expires(account):
    """The PDS checks an access token's signature only (measured, @atproto/pds 0.4.217): what
    max_token_age is for."""
    client = account.client()
    client.login()
    account.pds.revoke_app_password(account.handle, account.password, "psched")
    rkey, record = a_post()
    client.put_post(rkey, record)
    assert len(account.records()) == 1


def test_a_stored_session_is_used_without_a_new_login_and_a_refused_one_is_replaced(account):
    sessions = []
    client = account.client(on_session=sessions.append)
    client.login()
    assert len(sessions) == 1
    restored = account.client(session=sessions[0], on_session=sessions.append)
    rkey, record = a_post()
    restored.put_post(rkey, record)
    assert len(sessions) == 1  # no login: the stored tokens served
    handle, did, access, refresh, *rest = sessions[0].split(":::")
    broken = ":::".join([handle, did, access[:-4] + "AAAA", refresh, *rest])
    replaced = account.client(session=broken, on_session=sessions.append)
    other_key, other_record = a_post("second", delivery_id=2)
    replaced.put_post(other_key, other_record)
    assert len(sessions) == 2 and sessions[1] != broken


def test_the_pds_and_text_problem_agree_on_the_grapheme_limit(account):
    client = account.client()
    fits = "👍🏽" * GRAPHEME_LIMIT  # 600 code points, 2400 bytes: 300 graphemes
    assert text_problem(fits) is None
    rkey, record = a_post(fits)
    client.put_post(rkey, record)
    too_long = "a" * (GRAPHEME_LIMIT + 1)
    assert text_problem(too_long) is not None
    rkey, record = a_post(too_long, delivery_id=2)
    with pytest.raises(Refused) as raised:
        client.put_post(rkey, record)
    assert "maximum 300" in str(raised.value)


def test_links_and_mentions_become_facets(account, pds):
    friend = Account(pds)
    client = account.client()
    text = f"café with @{friend.handle}: https://example.com/menu?x=1 #coffee"
    facets = client.facets(text)
    by_kind = {facet["features"][0]["$type"].split("#")[1]: facet for facet in facets}
    assert by_kind["mention"]["features"][0]["did"] == friend.did
    assert by_kind["link"]["features"][0]["uri"] == "https://example.com/menu?x=1"
    encoded = text.encode()
    mention = by_kind["mention"]["index"]
    assert encoded[mention["byteStart"]:mention["byteEnd"]] == f"@{friend.handle}".encode()  # bytes, after the é
    rkey = record_key(instant=datetime.now(timezone.utc), delivery_id=1)
    record = post_record(text=text, created_at=datetime.now(timezone.utc), langs=["fr"], facets=facets)
    client.put_post(rkey, record)
    (stored,) = account.records()
    assert stored["value"]["facets"] == facets and stored["value"]["langs"] == ["fr"]


def test_an_unknown_mention_stays_plain_text(account):
    facets = account.client().facets("hi @nobody-here.test")
    assert facets == []


def test_the_rate_limit_is_told_and_its_end_given(tmp_path):
    limited = LocalPds(tmp_path / "data", rate_limit_writes="6/600").start()  # 3 putRecord calls
    try:
        account = Account(limited)
        client = account.client()
        remaining = []
        for number in range(3):
            rkey, record = a_post(f"post {number}", delivery_id=number)
            remaining.append(client.put_post(rkey, record).rate_limit.remaining)
        assert remaining == [4, 2, 0]
        rkey, record = a_post("one too many", delivery_id=9)
        with pytest.raises(RateLimited) as raised:
            client.put_post(rkey, record)
        seconds = (raised.value.not_before - datetime.now(timezone.utc)).total_seconds()
        assert 500 < seconds <= 601
        assert client.reconcile(rkey, record) is None  # a 429 wrote nothing
    finally:
        limited.stop()
