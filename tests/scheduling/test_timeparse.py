import pytest
from django.core.exceptions import ValidationError

from psched.lib.timeparse import local_to_instant, parse_publish_at, zone_get, zone_names
from tests.dates import NEXT_YEAR, dst_fold, dst_gap

FOLD, FOLD_FIRST_UTC = dst_fold()


def test_it_takes_z_and_offsets():
    assert parse_publish_at(f"{NEXT_YEAR}-01-01T10:00:00Z").instant.isoformat() == f"{NEXT_YEAR}-01-01T10:00:00+00:00"
    assert parse_publish_at(f"{NEXT_YEAR}-01-01T10:00:00+02:00").instant.isoformat() == f"{NEXT_YEAR}-01-01T08:00:00+00:00"


def test_it_refuses_a_dst_gap():
    with pytest.raises(ValidationError, match="does not exist"):
        local_to_instant(dst_gap("Europe/Paris"), "Europe/Paris")


def test_it_resolves_a_fold_to_the_first_occurrence():
    parsed = local_to_instant(FOLD, "Europe/Paris")
    assert parsed.instant.replace(tzinfo=None) == FOLD_FIRST_UTC  # still UTC+2
    assert "happens twice" in parsed.note


def test_it_needs_a_zone_for_naive_times():
    with pytest.raises(ValidationError, match="no offset"):
        parse_publish_at(f"{NEXT_YEAR}-01-01T10:00:00")



@pytest.mark.parametrize("typed, meant", [("Tokyo", "Asia/Tokyo"), ("new york", "America/New_York"), ("europe/paris", "Europe/Paris")])
def test_it_suggests_the_zone_a_short_name_means(typed, meant):
    from psched.lib.timeparse import zone_get

    with pytest.raises(ValidationError, match=f"did you mean {meant}"):
        zone_get(typed)


def test_it_suggests_nothing_for_a_name_that_is_no_city():
    from psched.lib.timeparse import zone_get

    with pytest.raises(ValidationError) as error:
        zone_get("Mars")
    assert "did you mean" not in str(error.value)


@pytest.mark.parametrize("name", ["Factory", "localtime", "posixrules"])
def test_it_refuses_names_that_are_no_place(name):
    assert name not in zone_names()
    with pytest.raises(ValidationError, match="Unknown time zone"):
        zone_get(name)
