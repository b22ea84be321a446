"""A new terminal: management commands work with nothing exported, and a bad value is one line."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, var_dir, **env):
    """manage.py with a clean environment: no SECRET_KEY, DATABASE_URL, DEBUG, broker or settings module."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PSCHED_VAR_DIR": str(var_dir), **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.integration  # migrates a database in a new process: half a minute, out of the fast lane
def test_it_runs_commands_beside_the_embedded_database_with_nothing_exported(tmp_path):
    for command in (["migrate", "--noinput", "-v0"], ["help"], ["check"], ["psched_status"], ["dispatcher_list"]):
        result = manage(*command, var_dir=tmp_path)
        assert result.returncode == 0, f"{command}: {result.stderr}"
        assert "Traceback" not in result.stderr
    assert (tmp_path / "psched.sqlite3").exists()
    secret_key = tmp_path / "secret_key"
    assert len(secret_key.read_text()) >= 50
    assert secret_key.stat().st_mode & 0o077 == 0


def test_it_keeps_the_development_secret_key(tmp_path):
    show = ["shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"]
    first = manage(*show, var_dir=tmp_path, DATABASE_URL="sqlite:///:memory:")
    second = manage(*show, var_dir=tmp_path, DATABASE_URL="sqlite:///:memory:")
    assert first.returncode == 0, first.stderr
    assert first.stdout.split()[-1] == second.stdout.split()[-1] == (tmp_path / "secret_key").read_text()


def test_it_says_what_is_wrong_in_one_line(tmp_path):
    result = manage("psched_status", var_dir=tmp_path, PSCHED_TICK_SECONDS="soon")
    assert result.returncode == 1
    assert result.stderr == "psched: PSCHED_TICK_SECONDS must be an integer, not 'soon'\n"
