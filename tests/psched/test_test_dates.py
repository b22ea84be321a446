"""Tests must not expire: a literal date in the future passes the "at most five years ahead"
rule only until then. tests/dates.py gives dates relative to now."""
import re
from datetime import date
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
# YYYY-MM-DD, "YYYY, M, D" (datetime's arguments), and ISO datetimes: YYYY-MM-DDTHH:MM (no \b
# between the day and the T) and the basic form of RRULE's UNTIL, YYYYMMDDTHHMMSS.
LITERAL_DATE = re.compile(r"(?<!\d)(20\d\d)(?:[-, ]+\d\d?[-, ]+\d\d?(?!\d)|\d\d\d\dT)")


def test_its_pattern_finds_every_form_of_a_date():
    year = date.today().year + 1  # built here, so that this file holds no such literal
    for text in [f"{year}-07-01", f"datetime({year}, 7, 1)", f'"{year}-07-01T09:00:00Z"', f"UNTIL={year}0701T090000Z"]:
        assert LITERAL_DATE.search(text).group(1) == str(year), text
    for text in [f"1{year}-07-01", f"{year}-07-011", f"version {year}"]:
        assert not LITERAL_DATE.search(text), text


def test_it_finds_no_fixed_future_dates_in_the_tests():
    this_year = date.today().year
    found = [
        f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in LITERAL_DATE.finditer(line)
        if int(match.group(1)) > this_year
    ]
    assert not found, "fixed future dates; use tests/dates.py:\n" + "\n".join(found)
