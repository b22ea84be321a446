"""Tests must not expire: a literal date in the future passes the "at most five years ahead"
rule only until then. tests/dates.py gives dates relative to now."""
import re
from datetime import date
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
LITERAL_DATE = re.compile(r"\b(20\d\d)[-, ]+(\d\d?)[-, ]+(\d\d?)\b")


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
