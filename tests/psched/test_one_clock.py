"""The database clock decides (docs/design.md, "Clocks"): the apps never ask the host's clock to
decide anything. Requests pass down request_now, jobs read db_now; the tests in
tests/scheduling/test_clock.py show what asking the host's clock cost."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "feed", "scheduling", "dispatchers", "destinations")
HOST_CLOCK = re.compile(r"timezone\.now\(\)|datetime\.(utc)?now\(|date\.today\(|time\.time\(\)")
# Where the host's clock is right, and why.
ALLOWED = {
    "updated_at=timezone.now()": "a stamp that decides nothing, as auto_now writes it",
    "when.timestamp() - time.time()": "a remote server's Retry-After date, against this host's clock",
}


def test_no_app_asks_the_host_clock_to_decide():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if HOST_CLOCK.search(line) and not any(allowed in line for allowed in ALLOWED):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "use the request's request_now(request) or db_now():\n" + "\n".join(found)
