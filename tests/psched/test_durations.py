from datetime import timedelta

import pytest
from django.utils import timezone

from psched.lib.durations import relative_text as relative


@pytest.mark.parametrize("seconds, words", [
    (20, "in 20 seconds"), (1, "in 1 second"), (0, "now"), (-45, "45 seconds ago"),
    (180, "in 3\xa0minutes"), (-3600, "1\xa0hour ago"),
])
def test_it_says_seconds_below_a_minute(seconds, words):
    now = timezone.now()
    assert relative(now + timedelta(seconds=seconds), now) == words
