"""The soak's supervisor (soak.cluster.SoakCluster.supervise): a process that exited by itself
is started again and recorded; one the nemesis holds down (out of cluster.processes) is not."""
import json
import subprocess
import threading
import time
from types import SimpleNamespace

from soak.cluster import SoakCluster
from soak.history import History
from stack import wait_for


def test_a_node_that_exited_is_started_again_and_recorded(tmp_path):
    restarted = []

    def restart(name):
        restarted.append(name)
        cluster.processes[name] = subprocess.Popen(["sleep", "30"])

    crashed = subprocess.Popen(["sh", "-c", "exit 3"])
    crashed.wait()
    cluster = SimpleNamespace(processes={"node-a": crashed, "node-b": subprocess.Popen(["sleep", "30"])}, restart=restart)
    history = History(tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=SoakCluster.supervise, args=(cluster, history, stop), kwargs={"every": 0.02})
    thread.start()
    try:
        wait_for(lambda: restarted, 10, interval=0.02, what="the supervisor's restart")
        time.sleep(0.2)  # further rounds: the running processes are left alone
    finally:
        stop.set()
        thread.join()
        history.close()
        for popen in cluster.processes.values():
            popen.kill()
    assert restarted == ["node-a"]
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [(event["kind"], event["target"], event["code"]) for event in events] == [("exited", "node-a", 3)]
