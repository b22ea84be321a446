from datetime import datetime

import pytest
from django.core.exceptions import ValidationError

from psched.lib.timeparse import local_to_instant, parse_publish_at


def test_it_takes_z_and_offsets():
    assert parse_publish_at("2031-01-01T10:00:00Z").instant.isoformat() == "2031-01-01T10:00:00+00:00"
    assert parse_publish_at("2031-01-01T10:00:00+02:00").instant.isoformat() == "2031-01-01T08:00:00+00:00"


def test_it_refuses_a_dst_gap():
    with pytest.raises(ValidationError, match="does not exist"):
        local_to_instant(datetime(2031, 3, 30, 2, 30), "Europe/Paris")


def test_it_resolves_a_fold_to_the_first_occurrence():
    parsed = local_to_instant(datetime(2031, 10, 26, 2, 30), "Europe/Paris")
    assert parsed.instant.isoformat() == "2031-10-26T00:30:00+00:00"  # still UTC+2
    assert "happens twice" in parsed.note


def test_it_needs_a_zone_for_naive_times():
    with pytest.raises(ValidationError, match="no offset"):
        parse_publish_at("2031-01-01T10:00:00")
