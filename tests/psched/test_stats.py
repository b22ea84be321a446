from psched.lib.stats import percentile


def test_it_takes_the_nearest_rank():
    values = list(range(100, 0, -1))  # unsorted on purpose
    assert percentile(values, 0.5) == 51  # index round(49.5) = 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7], 0.99) == 7


def test_it_has_no_percentile_of_nothing():
    assert percentile([], 0.5) is None
