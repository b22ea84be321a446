import os
import shutil

import pytest

from stack import MYSQL, Stack, free_port
from stack.hosts import HostNetwork
from stack.mariadb import PrivateMariaDB


@pytest.fixture
def stack_factory(request):
    stacks = []

    def make(**kwargs):
        stack = Stack(request.node.name[:20].replace("[", "_").replace("]", ""), **kwargs)
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
    if os.geteuid() != 0:
        pytest.fail("The multi-host scenarios create network namespaces: run them as root (sudo make test).")
    for tool in ("socat", "faketime"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make test` installs it (apt: {tool}).")
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
            request.node.name[:20].replace("[", "_").replace("]", ""), env=env, network=network,
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
    for stack, network in made:
        try:
            stack.stop()
        finally:
            network.down()
            if stack.mariadb:
                stack.mariadb.remove()
