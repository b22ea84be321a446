import os
import shutil

import pytest

from stack import MYSQL, VENV_BIN, Stack, free_port
from stack.balancer import Balancer
from stack.hosts import HostNetwork
from stack.mariadb import PrivateMariaDB


def stack_name(request) -> str:
    return request.node.name[:20].replace("[", "_").replace("]", "")


def hosts_required(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.fail("The multi-host scenarios create network namespaces: run them as root (sudo make test).")
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make test` installs it (apt: {tool}).")


def hosts_remove(made) -> None:
    """Each stack stopped and its network removed (and a private MariaDB), whatever the outcome."""
    for stack, network in made:
        try:
            stack.stop()
        finally:
            network.down()
            if getattr(stack, "mariadb", None):
                stack.mariadb.remove()


@pytest.fixture
def stack_factory(request):
    stacks = []

    def make(**kwargs):
        stack = Stack(stack_name(request), **kwargs)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture
def hosts_stack(request):
    """A Stack whose web server, beat and nodes a, b and c each run on a test host of their own
    (stack.hosts), with the given clock skews: hosts_stack(clocks={"a": "+30s"}).
    The network and every process on it are removed afterwards, whatever the outcome."""
    hosts_required("socat", "faketime")
    made = []

    def make(*, clocks=None, env=None, nodes=("a", "b", "c"), private_database=False):
        """private_database: a MariaDB server of the scenario's own (stack.mariadb), to restart."""
        network = HostNetwork(["web", "beat", *nodes]).up()
        network.place("web", "web")  # before the Stack: its URL is the web host's
        network.place("beat", "beat")
        for node in nodes:
            network.place(f"node-{node}", node)
            network.place(f"node-{node}-2", node)  # a second worker of the node, on its host
        stack = Stack(
            stack_name(request), env=env, network=network,
            mysql_port=free_port() if private_database else MYSQL["port"],
        )
        stack.mariadb = None
        made.append((stack, network))
        if private_database:
            stack.mariadb = PrivateMariaDB(stack.mysql["port"], stack.logs).install().start()
        for node, clock in (clocks or {}).items():
            network[node].clock = clock
        network.forward(stack.mysql["port"])
        network.forward(stack.redis_port)
        return stack.start(nodes=nodes)

    yield make
    hosts_remove(made)


class BalancedStack(Stack):
    """A Stack whose web server runs twice, on hosts web1 and web2, behind a balancer on the
    gateway (each new connection goes to the next web server), as the soak runs them."""

    WEBS = ("web1", "web2")

    @property
    def web_address(self) -> str:
        return self.network.gateway  # what the nodes call back: the balancer

    def __init__(self, name: str, *, network: HostNetwork, **kwargs):
        super().__init__(name, network=network, **kwargs)
        self.proxy.close()  # the single server's FaultProxy is not used
        self.web_port_inner = free_port()
        self.balancer = Balancer([(network[web].address, self.web_port_inner) for web in self.WEBS], port=self.web_port)
        self.url = f"http://127.0.0.1:{self.web_port}"

    def start_web(self, workers: int = 2):
        for web in self.WEBS:
            self.spawn(web, [
                str(VENV_BIN / "gunicorn"), "psched.wsgi", "-b", f"{self.network[web].address}:{self.web_port_inner}",
                "--workers", str(workers), "--threads", "4", "--timeout", "60", "--log-level", "warning",
            ])

    def stop(self):
        try:
            super().stop()
        finally:
            self.balancer.close()


@pytest.fixture
def balanced_stack(request):
    """A BalancedStack with nodes a and b and beat, each on a test host of its own
    (stack.hosts); removed afterwards with its network, whatever the outcome."""
    hosts_required("socat")
    made = []

    def make(*, env=None, nodes=("a", "b")):
        network = HostNetwork([*BalancedStack.WEBS, "beat", *nodes]).up()
        for name in (*BalancedStack.WEBS, "beat"):
            network.place(name, name)
        for node in nodes:
            network.place(f"node-{node}", node)
        try:
            stack = BalancedStack(stack_name(request), env=env, network=network)
        except BaseException:
            network.down()
            raise
        made.append((stack, network))
        network.forward(stack.mysql["port"])
        network.forward(stack.redis_port)
        return stack.start(nodes=nodes)

    yield make
    hosts_remove(made)
