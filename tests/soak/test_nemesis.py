"""The nemesis' plan: the same seed makes the same faults at the same offsets."""
from soak.cluster import NODES
from soak.nemesis import KINDS, MAX_AT_ONCE, MAX_NODES_AT_ONCE, plan


def test_the_same_seed_makes_the_same_faults_at_the_same_offsets():
    assert plan(seed=26, seconds=1800) == plan(seed=26, seconds=1800)
    assert plan(seed=26, seconds=1800) != plan(seed=27, seconds=1800)


def test_faults_overlap_but_never_twice_on_one_target():
    faults = plan(seed=26, seconds=1800)
    assert len(faults) > 50
    assert {fault.kind for fault in faults} == set(KINDS)
    overlapping = 0
    for fault in faults:
        active = [other for other in faults if other.offset <= fault.offset < other.end and other is not fault]
        overlapping += bool(active)
        assert fault.target not in {other.target for other in active}
        assert len(active) < MAX_AT_ONCE
        assert len({other.target for other in active if other.target in NODES} | ({fault.target} & set(NODES))) <= MAX_NODES_AT_ONCE
    assert overlapping > 10


def test_a_shorter_run_keeps_the_start_of_a_longer_ones_plan():
    # The seed fixes the draws, not the length: a 3-minute replay of a 30-minute run's seed
    # makes its first faults.
    short, long = plan(seed=26, seconds=180), plan(seed=26, seconds=1800)
    assert short and short == long[:len(short)]
