"""The soak's psched, on test hosts (stack.hosts): two web servers behind a balancer, three
dispatcher nodes on hosts of their own (one clock 40 s ahead, one 40 s behind), beat, a
private MariaDB server and a private Redis, each of which the nemesis may kill, pause, cut
off or restart; and two destinations: a webhook receiver and a Bluesky PDS (behind a proxy
that can drop its answers)."""
import os
import signal
import subprocess
import threading
import time

from stack import ROOT, VENV_BIN, FaultProxy, Stack, free_port, port_open, wait_for
from stack.balancer import Balancer
from stack.hosts import HostNetwork
from stack.mariadb import PrivateMariaDB
from stack.pds import LocalPds
from stack.receiver import ReceiverProcess

NODES = ("a", "b", "c")
WEBS = ("web1", "web2")
CLOCKS = {"a": "+40s", "b": "-40s", "c": ""}
USERS = ("alice", "bob", "carol", "dave")
HOOK_USER = "alice"  # her posts also go to a webhook destination (the receiver checks one secret)
BLUESKY_USER = "bob"  # his posts also go to a Bluesky account on the PDS
BLUESKY_HANDLE, BLUESKY_PASSWORD = "soak.test", "account-password-1"


class SoakCluster(Stack):
    def __init__(self, *, prefix: str = "soak", second_octet: int = 66, env: dict | None = None):
        self.network = HostNetwork([*WEBS, "beat", *NODES], prefix=prefix, second_octet=second_octet)
        super().__init__("soak", env={
            "PSCHED_LEASE_SECONDS": "30",  # the default: failover, not the lease, must bound lateness
            "PSCHED_MAX_ATTEMPTS": "60",  # rides out the longest database outage with the short backoff
            "PSCHED_SERIES_MIN_SECONDS": "60",  # series that fire during the run
            # Webhooks to the receiver on this machine, retried seconds apart, not minutes.
            "PSCHED_WEBHOOK_ALLOW_PRIVATE": "1",
            "PSCHED_WEBHOOK_RETRY_SCHEDULE": ",".join(["0", "0.5"] + ["1"] * 80),
            "PSCHED_WEBHOOK_CONNECT_TIMEOUT": "1",
            "PSCHED_WEBHOOK_TOTAL_TIMEOUT": "3",
            "PSCHED_DELIVERY_LEASE_SECONDS": "5",
            **(env or {}),
        }, network=self.network, mysql_port=free_port())
        self.mariadb = PrivateMariaDB(self.mysql["port"], self.logs)
        self.web_port_inner = free_port()
        self.balancer = None
        self.url = None
        self.receiver = ReceiverProcess(self)
        self.destination = None  # the id of HOOK_USER's webhook destination
        # The PDS on this machine; nodes reach it through the proxy (which may drop answers).
        self.pds = LocalPds(self.logs / "pds", log=self.logs / "pds.log")
        self.pds_proxy = None
        self.bluesky_destination = None  # the id of BLUESKY_USER's Bluesky destination
        self.bluesky_did = None

    @property
    def web_address(self) -> str:
        # What nodes call back: the balancer, on the gateway (set once the network is up).
        return self.network.gateway

    def start(self, **_):
        self.network.up()
        for web in WEBS:
            self.network.place(web, web)
        self.network.place("beat", "beat")
        for node in NODES:
            self.network.place(f"node-{node}", node)
            self.network[node].clock = CLOCKS[node]
        self.mariadb.install().start()
        self.network.forward(self.mysql["port"])
        self.network.forward(self.redis_port)
        self.network.forward(self.receiver.port)  # nodes send webhooks to gateway:port
        self.pds.start()
        self.pds_proxy = FaultProxy(self.pds.port)
        self.network.forward(self.pds_proxy.port)
        self.balancer = Balancer([(self.network[web].address, self.web_port_inner) for web in WEBS])
        self.web_port = self.balancer.port
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.proxy.close()  # the single-server FaultProxy of Stack is not used here
        self.start_redis()
        self.create_database(users=USERS)
        for web in WEBS:
            self.start_web_on(web)
        for node in NODES:
            self.start_node(node)
        self.start_beat()
        wait_for(lambda: self.web_ready(), 180, what="web servers")
        status, body = self.request("POST", "/api/destinations/", {
            "name": "soak hook", "kind": "webhook", "url": f"http://{self.network.gateway}:{self.receiver.port}/hook",
        }, user=HOOK_USER)
        assert status == 201, (status, body)
        self.destination, self.receiver.secret = body["id"], body["secret"]
        self.receiver.start()
        self.bluesky_did = self.pds.create_account(BLUESKY_HANDLE, BLUESKY_PASSWORD)
        status, body = self.request("POST", "/api/destinations/", {
            "name": "soak sky", "kind": "bluesky", "pds_url": f"http://{self.network.gateway}:{self.pds_proxy.port}",
            "handle": BLUESKY_HANDLE, "app_password": self.pds.create_app_password(BLUESKY_HANDLE, BLUESKY_PASSWORD, "psched"),
        }, user=BLUESKY_USER)
        assert status == 201, (status, body)
        self.bluesky_destination = body["id"]
        for node in NODES:
            self.wait_node_ticking(node, timeout=180)
        return self

    def start_web_on(self, web: str):
        self.spawn(web, [
            str(VENV_BIN / "gunicorn"), "psched.wsgi", "-b", f"{self.network[web].address}:{self.web_port_inner}",
            "--workers", "2", "--threads", "4", "--timeout", "60", "--log-level", "warning",
        ])

    def wait_web_serving(self, web: str, timeout: float = 120):
        wait_for(lambda: port_open(self.web_port_inner, self.network[web].address), timeout, interval=0.1,
                 what=f"{web} serving again")

    def restart(self, process: str):
        """Starts again a process the nemesis killed."""
        if process in WEBS:
            self.start_web_on(process)
        elif process == "beat":
            self.start_beat()
        elif process.startswith("node-"):
            self.start_node(process.removeprefix("node-"))
        elif process == "redis":
            self.start_redis()
        elif process == "receiver":
            self.receiver.start()
        elif process == "pds":
            self.pds.start()
        else:
            raise ValueError(process)

    def ensure_running(self) -> list[str]:
        """Starts again whatever is not running at the end of a run (a restart that failed, a
        process that died on its own: the history says so in the checker's report)."""
        restarted = []
        if self.mariadb.process is None or self.mariadb.process.poll() is not None:
            self.mariadb.start()
            restarted.append("mariadb")
        if self.pds.process is None or self.pds.process.poll() is not None:
            self.pds.start()
            restarted.append("pds")
        if self.pds_proxy is not None and self.pds_proxy.mode != "forward":
            self.pds_proxy.mode = "forward"
        for process in ("redis", "receiver", *WEBS, "beat", *(f"node-{node}" for node in NODES)):
            popen = self.processes.get(process)
            if popen is None or popen.poll() is not None:
                self.restart(process)
                restarted.append(process)
        return restarted

    def supervise(self, history, stop: threading.Event, every: float = 1.0) -> None:
        """What a deployment's supervisor (systemd's Restart=always) does: a node, beat or web
        server that exited by itself is started again, and the history's events say when. The
        nemesis's kills are not seen here: cluster.kill takes the process out of self.processes
        until the nemesis starts it again."""
        while not stop.wait(every):
            for process in (*WEBS, "beat", *(f"node-{node}" for node in NODES)):
                popen = self.processes.get(process)
                if popen is None or popen.poll() is None:
                    continue
                seen = time.time()
                try:
                    self.restart(process)
                except Exception as error:  # the next round tries again
                    history.record("events", {"kind": "restart-failed", "target": process, "at": seen, "error": str(error)})
                    continue
                history.record("events", {"kind": "exited", "target": process, "code": popen.returncode, "at": seen})
                print(f"soak: {process} exited by itself (code {popen.returncode}); started again", flush=True)

    def signal(self, process: str, sig):
        popen = self.processes.get(process)
        if popen is not None and popen.poll() is None:
            try:
                os.killpg(popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self):
        # A paused process does not die of SIGTERM: wake them all first.
        for name in list(self.processes):
            self.signal(name, signal.SIGCONT)
        for host in self.network.hosts.values():
            try:
                host.restore()
            except RuntimeError:
                pass
        try:
            super().stop()
        finally:
            if self.balancer:
                self.balancer.close()
            if self.pds_proxy:
                self.pds_proxy.close()
            if self.pds.process is not None:
                self.pds.stop(signal.SIGKILL)
            self.network.down()
            self.mariadb.remove()

    def manage_quietly(self, *args) -> subprocess.CompletedProcess:
        """manage.py on this machine, its outcome returned rather than raised (the workload
        drains and activates nodes while the database may be down)."""
        return subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", *args], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=120,
        )
