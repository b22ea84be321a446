"""A node's process ends once its Celery worker has stopped (psched.celery.worker_exit_watch):
a supervisor restarts a process that exits, none restarts one that lingers."""
import threading
from types import SimpleNamespace

from celery.bootsteps import CLOSE, RUN

from psched import celery as psched_celery


def watch(controller, monkeypatch, grace):
    monkeypatch.setattr(psched_celery, "WORKER_STOP_GRACE_SECONDS", grace)
    exits = []
    thread = threading.Thread(target=psched_celery.worker_exit_watch, args=(controller,),
                              kwargs={"poll": 0.01, "exit": exits.append}, daemon=True)
    thread.start()
    return thread, exits


def test_a_worker_stopped_by_an_error_ends_the_process_with_its_exit_code(monkeypatch):
    controller = SimpleNamespace(blueprint=SimpleNamespace(state=RUN), exitcode=None)
    thread, exits = watch(controller, monkeypatch, {"error": 0.05, "signal": 60})
    thread.join(0.2)
    assert thread.is_alive() and exits == []  # running: nothing happens
    controller.blueprint.state, controller.exitcode = CLOSE, 1
    thread.join(5)
    assert exits == [1]


def test_a_warm_shutdown_has_the_longer_grace(monkeypatch):
    controller = SimpleNamespace(blueprint=SimpleNamespace(state=CLOSE), exitcode=0)
    thread, exits = watch(controller, monkeypatch, {"error": 0.01, "signal": 0.3})
    thread.join(0.1)
    assert exits == []  # still within the signal's grace, though past an error's
    thread.join(5)
    assert exits == [1]  # a process that outlived its warm shutdown exits as failed


def test_psched_workers_run_psched_consumer():
    assert psched_celery.app.conf.worker_consumer == "psched.celery:Consumer"
