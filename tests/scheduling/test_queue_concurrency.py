import threading

import pytest
from django.db import connection

from scheduling import queue
from scheduling.queue import queue_slots_replace, queued_post_create


@pytest.mark.django_db(transaction=True)
def test_it_gives_two_concurrent_queue_requests_two_slots(alice, monkeypatch):
    if connection.vendor != "mysql":
        pytest.skip("needs row locks between connections (MariaDB); SQLite serializes writers anyway")
    queue_slots_replace(user=alice, slots=[{"weekday": d, "time": "09:00"} for d in range(7)])
    # Both requests read the taken slots, then wait for each other (up to 3 s) before writing:
    # without the lock on the user's row both would pick the same slot.
    both_read = threading.Barrier(2, timeout=3)
    original = queue._taken

    def taken_then_wait(**kwargs):
        found = original(**kwargs)
        try:
            both_read.wait()
        except threading.BrokenBarrierError:
            pass  # the other request is held by the lock: the point of the test
        return found

    monkeypatch.setattr(queue, "_taken", taken_then_wait)
    results, errors = [], []

    def request(text):
        try:
            results.append(queued_post_create(author=alice, text=text).publish_at)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(f"post {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == 2 and results[0] != results[1]
