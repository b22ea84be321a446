"""The calendar as its browser tests drive it: the API from the signed-in page, a weekday ahead
in the browser's zone (Asia/Tokyo), the week's cells."""
from datetime import datetime, time, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

TOKYO = ZoneInfo("Asia/Tokyo")  # the browser's zone in these tests; no profile zone, so the calendar's too
UTC = dt_timezone.utc


def api(page, method, path, data=None):
    """The API as the signed-in page calls it: session cookie and CSRF header."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.fetch(path, method=method, data=data, headers={"X-CSRFToken": token})
    assert response.ok, (response.status, response.text())
    return response.json()


def a_weekday_ahead() -> datetime:
    """10:00 Tokyo, two or three days ahead, never a Sunday: its next day is in the same week."""
    day = datetime.now(TOKYO).date() + timedelta(days=2)
    if day.weekday() == 6:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=TOKYO)


def schedule(page, text, at: datetime) -> dict:
    return api(page, "POST", "/api/scheduled-posts/", {"text": text, "publish_at": at.isoformat(), "timezone": "Asia/Tokyo"})


def cell(page, at: datetime):
    return page.locator(f'td.cal-cell[data-start="{at.astimezone(UTC).isoformat()}"]')


def open_week(page, day):
    page.goto(f"/calendar/?view=week&date={day:%Y-%m-%d}")
    expect(page.locator("#cal-zone")).to_contain_text("Times in Asia/Tokyo")
    # calendar.js has run on this page: it may reload the first one to take the browser's zone,
    # whose posts are in the DOM before the script makes them draggable, and a drag then does
    # nothing. The script adds the move help last, once dragging and moving are wired.
    expect(page.locator("#cal-move-help")).to_be_attached()
