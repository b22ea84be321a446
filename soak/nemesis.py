"""The nemesis: faults at random, overlapping, from a seed. The whole plan (which fault, on
what, at which offset from the start, for how long) is drawn from the seed before the run,
so a second run with the same seed makes the same faults at the same offsets. Each fault
runs in a thread of its own and is written to the history when it starts and ends."""
import random
import signal
import threading
import time
from dataclasses import asdict, dataclass, field

from stack import port_open, wait_for

from .cluster import NODES, WEBS

# kind: (weight, shortest, longest seconds)
KINDS = {
    "kill-node": (4, 1, 10),  # SIGKILL, down this long, started again
    "pause-node": (3, 5, 60),  # SIGSTOP, then SIGCONT: a pause, not a death
    "clock-node": (2, 1, 5),  # SIGKILL, started again with another clock offset
    "kill-web": (3, 1, 15),
    "kill-beat": (2, 1, 15),
    "link-down": (3, 5, 60),
    "link-lossy": (3, 5, 60),
    "mariadb-restart": (1, 2, 15),
    "broker-restart": (2, 1, 10),
    # The webhook receiver: answering 500, answering after the sender's timeout (3 s), applying
    # and then dropping the answer, or killed and restarted.
    "hook-500": (1, 5, 30),
    "hook-timeout": (1, 5, 30),
    "hook-drop": (1, 5, 30),
    "kill-receiver": (1, 1, 15),
    # The Bluesky PDS: SIGKILLed and started again on its data (its start takes seconds more),
    # or its proxy forwarding writes and dropping every second answer (the write is made, the
    # node cannot know).
    "kill-pds": (1, 1, 15),
    "pds-drop": (1, 5, 30),
}
LINK_HOSTS = (*NODES, *WEBS, "beat")
MAX_AT_ONCE = 3
MAX_NODES_AT_ONCE = 2  # one node of three always runs, so lateness measures psched, not an outage of all


@dataclass
class Fault:
    offset: float  # seconds from the start of the workload
    kind: str
    target: str
    duration: float
    params: dict = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.offset + self.duration


def plan(*, seed: int, seconds: float, warmup: float = 20, mean_gap: float = 15) -> list[Fault]:
    """The faults of a run of `seconds`, drawn from `seed` alone."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    weights = [KINDS[kind][0] for kind in kinds]
    faults: list[Fault] = []
    busy_until: dict[str, float] = {}
    offset = warmup
    while True:
        offset += rng.expovariate(1 / mean_gap)
        if offset > seconds - 10:
            return faults
        kind = rng.choices(kinds, weights)[0]
        _, shortest, longest = KINDS[kind]
        duration = round(rng.uniform(shortest, longest), 1)
        if kind.endswith("-node"):
            target = rng.choice(NODES)
        elif kind == "kill-web":
            target = rng.choice(WEBS)
        elif kind.startswith("link-"):
            target = rng.choice(LINK_HOSTS)
        else:
            target = {"kill-beat": "beat", "mariadb-restart": "mariadb", "broker-restart": "redis",
                      "kill-pds": "pds", "pds-drop": "pds"}.get(kind, "receiver")
        params = {}
        if kind == "link-lossy":
            params["percent"] = rng.randint(10, 50)
        if kind == "clock-node":
            params["clock"] = f"{rng.randint(-90, 90):+d}s"
        # Drawn whatever happens next, so that skipping a fault does not shift the rest.
        active = [f for f in faults if f.end + 2 > offset]
        nodes_active = {f.target for f in active if f.target in NODES}
        if busy_until.get(target, 0) > offset or len(active) >= MAX_AT_ONCE:
            continue
        if target in NODES and target not in nodes_active and len(nodes_active) >= MAX_NODES_AT_ONCE:
            continue
        faults.append(Fault(round(offset, 1), kind, target, duration, params))
        busy_until[target] = offset + duration + 2


class Nemesis:
    def __init__(self, cluster, history, faults: list[Fault]):
        self.cluster = cluster
        self.history = history
        self.faults = faults
        self.threads: list[threading.Thread] = []

    def start(self, started: float):
        """`started`: the monotonic time of the workload's start, which offsets count from."""
        for fault in self.faults:
            thread = threading.Thread(target=self._run, args=(fault, started), daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self):
        for thread in self.threads:
            thread.join()

    def _run(self, fault: Fault, started: float):
        time.sleep(max(0.0, started + fault.offset - time.monotonic()))
        entry = {**asdict(fault), "start": time.time()}
        try:
            undo = self._apply(fault)
            time.sleep(fault.duration)
            undo()
        except Exception as error:  # recorded, and the run goes on: the checker judges the outcome
            entry["error"] = f"{error.__class__.__name__}: {error}"
        entry["end"] = time.time()
        self.history.record("faults", entry)

    def _apply(self, fault: Fault):
        cluster, target = self.cluster, fault.target
        if fault.kind == "kill-web":
            cluster.kill(target, signal.SIGKILL)
            # Its end is when it serves again (gunicorn takes seconds to start): the checker
            # needs to know when no web server served at all.
            return lambda: (cluster.restart(target), cluster.wait_web_serving(target))
        if fault.kind in ("kill-node", "kill-beat"):
            process = f"node-{target}" if fault.kind == "kill-node" else target
            cluster.kill(process, signal.SIGKILL)
            return lambda: cluster.restart(process)
        if fault.kind == "pause-node":
            cluster.signal(f"node-{target}", signal.SIGSTOP)
            return lambda: cluster.signal(f"node-{target}", signal.SIGCONT)
        if fault.kind == "clock-node":
            cluster.kill(f"node-{target}", signal.SIGKILL)
            cluster.network[target].clock = "" if fault.params["clock"] in ("+0s", "-0s") else fault.params["clock"]
            return lambda: cluster.restart(f"node-{target}")
        if fault.kind == "link-down":
            cluster.network[target].cut()
            return cluster.network[target].restore
        if fault.kind == "link-lossy":
            cluster.network[target].lossy(fault.params["percent"])
            return cluster.network[target].restore
        if fault.kind == "mariadb-restart":
            cluster.mariadb.stop(signal.SIGKILL)
            return cluster.mariadb.start
        if fault.kind.startswith("hook-"):
            mode = {"hook-500": {"mode": "500"}, "hook-timeout": {"mode": "slow", "seconds": 5}, "hook-drop": {"mode": "drop"}}
            cluster.receiver.control(**mode[fault.kind])
            return lambda: cluster.receiver.control(mode="ok")
        if fault.kind == "kill-receiver":
            cluster.kill("receiver", signal.SIGKILL)
            return lambda: cluster.restart("receiver")
        if fault.kind == "kill-pds":
            cluster.pds.kill()
            return cluster.pds.start
        if fault.kind == "pds-drop":
            cluster.pds_proxy.drop_every, cluster.pds_proxy.mode = 2, "drop"
            return lambda: setattr(cluster.pds_proxy, "mode", "forward")
        if fault.kind == "broker-restart":
            cluster.kill("redis", signal.SIGKILL)
            wait_for(lambda: not port_open(cluster.redis_port), 30, what="redis gone")
            return cluster.start_redis
        raise ValueError(fault.kind)
