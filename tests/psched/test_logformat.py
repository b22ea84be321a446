import json
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from psched.logformat import JsonFormatter
from psched.settings import env_choice


def test_it_writes_one_json_object_per_line():
    record = logging.makeLogRecord({
        "name": "dispatchers", "levelname": "INFO", "msg": "node %s published %s posts", "args": ("a", 3),
        "node": "a",
    })
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "node a published 3 posts"
    assert (entry["level"], entry["logger"], entry["node"]) == ("INFO", "dispatchers", "a")
    assert entry["time"].endswith("+00:00")


def test_it_includes_the_exception():
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed", (), __import__("sys").exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad" in entry["exception"]


def test_log_format_accepts_only_plain_or_json(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert env_choice("LOG_FORMAT", "plain", ["plain", "json"]) == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT must be one of plain, json, not 'xml'"):
        env_choice("LOG_FORMAT", "plain", ["plain", "json"])
