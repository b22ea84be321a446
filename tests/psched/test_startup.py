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


def test_it_makes_var_and_its_files_private(tmp_path):
    var_dir = tmp_path / "var"
    result = manage("check", var_dir=var_dir, DATABASE_URL=f"sqlite:///{var_dir / 'psched.sqlite3'}")
    assert result.returncode == 0, result.stderr
    assert var_dir.stat().st_mode & 0o777 == 0o700
    assert (var_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    # The database (sessions, tokens) is made before SQLite makes it with the umask's 0644.
    assert (var_dir / "psched.sqlite3").stat().st_mode & 0o777 == 0o600


def test_it_narrows_a_world_readable_database_left_by_an_earlier_version(tmp_path):
    database = tmp_path / "psched.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    result = manage("check", var_dir=tmp_path, DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr
    assert database.stat().st_mode & 0o777 == 0o600


def test_it_writes_an_empty_secret_key_again(tmp_path):
    (tmp_path / "secret_key").write_text("")
    show = ["shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"]
    result = manage(*show, var_dir=tmp_path, DATABASE_URL="sqlite:///:memory:")
    assert result.returncode == 0, result.stderr
    secret_key = (tmp_path / "secret_key").read_text()
    assert len(secret_key) >= 50 and result.stdout.split()[-1] == secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_processes_starting_together_share_one_secret_key(tmp_path):
    """Written to a temporary file and renamed under a lock: every process reads the one key,
    never an empty or half-written file."""
    code = "from psched.startup import secret_key_file_ensure as e; e(); print(open(%r).read())" % str(tmp_path / "secret_key")
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PSCHED_VAR_DIR": str(tmp_path)}
    starts = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True)
              for _ in range(8)]
    keys = {start.communicate(timeout=60)[0].strip() for start in starts}
    assert len(keys) == 1 and len(keys.pop()) >= 50
    assert sorted(path.name for path in tmp_path.iterdir()) == [".secret_key.lock", "secret_key"]


def test_the_secret_key_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A start killed while writing leaves no empty or partial secret_key behind."""
    from psched import startup

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PSCHED_VAR_DIR", str(tmp_path))

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(startup.os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        startup.secret_key_file_ensure()
    assert not (tmp_path / "secret_key").exists()
    monkeypatch.undo()
    monkeypatch.setenv("PSCHED_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    startup.secret_key_file_ensure()
    assert len((tmp_path / "secret_key").read_text()) >= 50
