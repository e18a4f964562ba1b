"""The collector policy of `omsi run`: survivors of a full collection frozen while it runs."""

import gc
import weakref

from pipelines.garbage_collection import survivors_frozen


class _Node:
    def __init__(self) -> None:
        self.other = self  # a reference cycle: only the cyclic collector frees it


def test_survivors_are_frozen_in_the_block_and_collectable_after_it():
    gc.collect()
    before = gc.get_freeze_count()
    with survivors_frozen():
        kept = _Node()
        gc.collect()
        assert gc.get_freeze_count() > before  # what survived, `kept` among it, is frozen
        frozen = weakref.ref(kept)
        del kept
        gc.collect()
        assert frozen() is not None  # a frozen cycle waits for the block's end

        young = _Node()
        made_since = weakref.ref(young)
        del young
        gc.collect()
        assert made_since() is None  # what was made since the last freeze is collected as ever
    assert gc.get_freeze_count() == 0
    assert all(callback.__name__ != "_freeze_after_full" for callback in gc.callbacks)
    gc.collect()
    assert frozen() is None


def test_an_error_in_the_block_still_ends_the_policy():
    try:
        with survivors_frozen():
            gc.collect()
            raise RuntimeError("the run failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0
    assert all(callback.__name__ != "_freeze_after_full" for callback in gc.callbacks)
