import gc

from psched.startup import heap_freeze


def test_heap_freeze_takes_what_is_loaded_out_of_the_collectors_sight():
    try:
        heap_freeze()
        assert gc.get_freeze_count() > 10_000  # the imported code and settings, at least
    finally:
        gc.unfreeze()
