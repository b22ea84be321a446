"""Test hosts in network namespaces, for scenarios where psched's processes run on machines of
their own: each host has its own address on a private network, and may have its own clock.

A HostNetwork makes a bridge on this machine with the gateway address 10.X.Y.1/24 (X and Y
picked at random, so scenarios run side by side), and one namespace per host plugged into it
by a veth pair, at 10.X.Y.10, .11, ... MariaDB and Redis listen on 127.0.0.1 only: a socat
forwarder on the gateway address reaches each. A host's clock is skewed with libfaketime
(LD_PRELOAD, FAKETIME=+30s: the wall clock is off; intervals stay true). Nothing leaves
this machine: traffic goes to 127.0.0.1 or to the namespaces' own addresses.

A host's link can also be cut (down) or made lossy: nftables rules in the host's namespace
drop a share of its packets (`numgen random`), since this kernel may lack `tc netem`.

Needs root (ip netns, ip link), nftables, and Debian's faketime and socat (the Makefile
installs them).
`down()` removes everything, and a network whose test process died is removed by the next
one (namespace names carry the creating process id)."""
import ipaddress
import os
import random
import signal
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

from .processes import clock_env

PREFIX = "psched-"


def _ip(*args, check=True):
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _namespaces() -> list[str]:
    return [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]


def _namespace_remove(namespace: str):
    pids = _ip("netns", "pids", namespace, check=False).split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    _ip("netns", "del", namespace, check=False)


def remove_orphans(prefix: str = PREFIX):
    """Namespaces and bridges left by a test process that was killed before its clean-up."""
    for namespace in _namespaces():
        if not namespace.startswith(prefix):
            continue
        pid = namespace[len(prefix):].split("-")[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            tag = namespace[len(prefix):].split("-")[1]
            _namespace_remove(namespace)
            _ip("link", "del", f"psb{tag}", check=False)


def _subnet_free(subnet: ipaddress.IPv4Network) -> bool:
    for line in _ip("-4", "addr", "show").splitlines():
        parts = line.split()
        if parts and parts[0] == "inet" and ipaddress.ip_interface(parts[1]).network.overlaps(subnet):
            return False
    return True


class Host:
    def __init__(self, network: "HostNetwork", name: str, index: int):
        self.network = network
        self.name = name
        self.namespace = f"{network.prefix}{os.getpid()}-{network.tag}-{name}"
        self.address = str(network.subnet.network_address + 10 + index)
        self.link = f"psv{network.tag}{index}"  # the host side of the veth pair (<= 15 chars)
        self.clock = ""  # FAKETIME's offset, e.g. "+30s"; "" is the true clock

    def command(self, argv: list[str], env: dict) -> tuple[list[str], dict]:
        """argv and env to run a process on this host: in its namespace, with its clock."""
        return ["ip", "netns", "exec", self.namespace, *argv], clock_env(self.clock, env) if self.clock else dict(env)

    def cut(self):
        """The host's link goes down: a partition. Its connections hang; none is reset."""
        _ip("link", "set", self.link, "down")

    def restore(self):
        """Undoes cut() and lossy()."""
        _ip("link", "set", self.link, "up")
        subprocess.run(["ip", "netns", "exec", self.namespace, "nft", "delete", "table", "inet", "psched_loss"],
                       capture_output=True, timeout=30)

    def lossy(self, percent: int):
        """The host drops `percent` % of the packets it sends and receives, at random (100: all
        of them, and its connections hang)."""
        share = f"numgen random mod 100 < {int(percent)} " if percent < 100 else ""
        rules = (
            "table inet psched_loss {\n"
            f"  chain input {{ type filter hook input priority 0; iifname \"eth0\" {share}drop; }}\n"
            f"  chain output {{ type filter hook output priority 0; oifname \"eth0\" {share}drop; }}\n"
            "}\n"
        )
        result = subprocess.run(["ip", "netns", "exec", self.namespace, "nft", "-f", "-"], input=rules,
                                capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"nft failed on {self.namespace}: {result.stderr.strip()}")


class HostNetwork:
    """`prefix` starts the namespaces' names; `second_octet` fixes the 10.X.y.0/24 range (a
    user of the machine keeps to its own), else X is random too."""

    def __init__(self, hosts: list[str], *, prefix: str = PREFIX, second_octet: int | None = None):
        self.prefix = prefix
        remove_orphans(prefix)
        self.tag = uuid.uuid4().hex[:6]
        self.bridge = f"psb{self.tag}"
        for _ in range(50):
            octet = second_octet if second_octet is not None else random.randint(16, 250)
            subnet = ipaddress.ip_network(f"10.{octet}.{random.randint(0, 255)}.0/24")
            if _subnet_free(subnet):
                break
        else:
            raise RuntimeError("no free 10.x.y.0/24 for the test network")
        self.subnet = subnet
        self.gateway = str(subnet.network_address + 1)
        self.hosts = {name: Host(self, name, index) for index, name in enumerate(hosts)}
        self.forwarders: list[subprocess.Popen] = []
        self.placement: dict[str, Host] = {}

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def up(self):
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for host in self.hosts.values():
                _ip("netns", "add", host.namespace)
                _ip("link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
                _ip("link", "set", host.link, "master", self.bridge, "up")
                _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
                _ip("-n", host.namespace, "link", "set", "eth0", "up")
                _ip("-n", host.namespace, "link", "set", "lo", "up")
                _ip("-n", host.namespace, "route", "add", "default", "via", self.gateway)
        except BaseException:
            self.down()
            raise
        return self

    def forward(self, port: int):
        """Makes 127.0.0.1:port reachable from every host at gateway:port."""
        self.forwarders.append(subprocess.Popen(
            ["socat", f"TCP-LISTEN:{port},bind={self.gateway},reuseaddr,fork", f"TCP:127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        ))

    def place(self, process: str, host: str):
        """Runs the Stack's process `process` (web, beat, node-a, ...) on `host`."""
        self.placement[process] = self.hosts[host]

    def command(self, process: str, argv: list[str], env: dict, *, web: str) -> tuple[list[str], dict]:
        """The Stack's hook: where `process` runs, the database and the broker are at the
        gateway and the API at `web` (the web host's address and port)."""
        host = self.placement.get(process)
        if host is None:
            return argv, env
        env = dict(env)
        for key in ("DATABASE_URL", "CELERY_BROKER_URL"):
            parts = urlsplit(env[key])
            env[key] = urlunsplit(parts._replace(netloc=parts.netloc.replace("127.0.0.1", self.gateway)))
        env["PSCHED_API_URL"] = f"http://{web}"
        env["ALLOWED_HOSTS"] = f"127.0.0.1,localhost,{web.rpartition(':')[0]}"
        return host.command(argv, env)

    def down(self):
        for forwarder in self.forwarders:
            try:
                os.killpg(forwarder.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            forwarder.wait(timeout=10)
        self.forwarders = []
        for host in self.hosts.values():
            _namespace_remove(host.namespace)
        _ip("link", "del", self.bridge, check=False)
