"""beat runs only with psched's scheduler: django-celery-beat's own DatabaseScheduler (how beat
was first documented) left a node registered after beat started without ticks for minutes."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dispatchers.beat import TickScheduler
from psched.celery import scheduler_check

ROOT = Path(__file__).resolve().parents[2]


def beat(*args, tmp_path):
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PSCHED_VAR_DIR": str(tmp_path),
                   "DATABASE_URL": "sqlite:///:memory:", "CELERY_BROKER_URL": "memory://"}
    return subprocess.run([sys.executable, "-m", "celery", "-A", "psched", "beat", "--pidfile=", *args], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("scheduler", ["django_celery_beat.schedulers:DatabaseScheduler", "django", "celery.beat:PersistentScheduler"])
def test_it_refuses_another_scheduler_in_one_line_naming_the_command(tmp_path, scheduler):
    result = beat("-S", scheduler, tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"psched: beat runs only with psched's scheduler (dispatchers.beat:TickScheduler), not {scheduler}: "
        "start it with `.venv/bin/celery -A psched beat` (no -S option).\n"
    )
    assert "is starting" not in result.stdout


def test_it_accepts_psched_scheduler_and_its_subclasses():
    class Custom(TickScheduler):
        pass

    scheduler_check("dispatchers.beat:TickScheduler")
    scheduler_check(TickScheduler)
    scheduler_check(Custom)


def test_the_configured_default_is_psched_scheduler(settings):
    scheduler_check(settings.CELERY_BEAT_SCHEDULER)
