import pytest

from stack import Stack


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
