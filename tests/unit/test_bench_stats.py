"""The bench's record of the garbage collector's full collections (a read's single outlier
that coincides with one is the collector's pause, not the database's)."""

from __future__ import annotations

import gc

from bench.stats import FullCollections


def test_full_collections_are_counted_and_timed_only_inside_the_block() -> None:
    with FullCollections() as collections:
        gc.collect(0)  # a young collection is not a full one
        assert collections.count == 0
        gc.collect()
        gc.collect()
    gc.collect()  # after the block: not counted
    assert collections.count == 2
    assert collections.longest_ms > 0
    assert collections._callback not in gc.callbacks
    assert collections.figures() == {"count": 2, "longest_ms": collections.longest_ms}
