"""Three minutes of the nemesis soak (soak/): random, overlapping faults on psched across test
hosts, then the checker over the history. A seed is drawn for each run and printed: a failure
replays with `make soak MINUTES=3 SEED=<seed>`."""
import os
import random
import shutil

import pytest

from soak.run import soak

pytestmark = pytest.mark.integration


def test_three_minutes_of_random_faults_lose_duplicate_and_advance_nothing():
    if os.geteuid() != 0:
        pytest.fail("The soak creates network namespaces: run it as root (sudo make test).")
    for tool in ("socat", "faketime", "nft"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make test` installs it.")
    seed = random.SystemRandom().randrange(1, 10**9)
    print(f"soak seed {seed}: replay with make soak MINUTES=3 SEED={seed}")
    # The history goes to artifacts/soak/<seed>-<time>/ (kept, unlike a pytest temporary folder).
    assert soak(minutes=3, seed=seed) == 0, f"violations; replay with SEED={seed}"
