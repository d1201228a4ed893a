"""The overlap stage keeps the objects alive before it out of the garbage collector's passes, and
gives them back afterwards (``stages.frozen_heap``)."""

import gc
import weakref

from pipeline.core.stages import frozen_heap


class _Node:
    pass


def _cycle() -> weakref.ref:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_frozen_heap_freezes_during_the_block_and_collects_after():
    assert gc.get_freeze_count() == 0
    ref = _cycle()  # garbage (a reference cycle) that exists when the block starts
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert ref() is not None  # frozen: not collected inside the block
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None  # collected once the block is over


def test_frozen_heap_leaves_a_callers_freeze_alone():
    gc.freeze()
    try:
        n = gc.get_freeze_count()
        with frozen_heap():
            pass
        assert gc.get_freeze_count() == n
    finally:
        gc.unfreeze()
