"""How the worker pool shares out a run's items (linkgate.check.workers.chunk_bounds): a pure function, so
its promises are checked directly; the pool itself is exercised in tests/check/test_fail_closed_scan.py."""

from __future__ import annotations

import pytest

from linkgate.check.workers import _LARGEST, chunk_bounds


@pytest.mark.parametrize(("count", "processes", "smallest", "uneven"),
                         [(0, 2, 16, 0), (1, 2, 16, 0), (3268, 2, 16, 3), (100_000, 8, 16, 0), (47, 2, 1, 47),
                          (500, 3, 7, 20)])  # fmt: skip
def test_every_item_once_in_order(count: int, processes: int, smallest: int, uneven: int) -> None:
    bounds = chunk_bounds(count, processes, smallest, uneven)
    assert [i for start, stop in bounds for i in range(start, stop)] == list(range(count))
    assert all(start < stop for start, stop in bounds)


def test_chunks_shrink_as_the_work_runs_out() -> None:
    sizes = [stop - start for start, stop in chunk_bounds(3268, 2, 16)]
    assert sizes[0] == _LARGEST  # a large tree starts with the largest chunks
    assert sizes == sorted(sizes, reverse=True)  # never growing again
    assert sizes[-2] == 16  # the last full chunk is the smallest
    assert len(sizes) < 3268 // 16 // 4  # far fewer messages than fixed chunks of 16


def test_a_small_run_gets_the_smallest_chunks() -> None:
    assert chunk_bounds(40, 2, 16) == [(0, 16), (16, 32), (32, 40)]


def test_uneven_items_keep_chunks_of_their_own() -> None:
    """Archives (sorted largest first) go out `smallest` at a time, never with the plain files after them."""
    bounds = chunk_bounds(1000, 2, 1, uneven=5)
    assert bounds[:5] == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert bounds[5][0] == 5 and bounds[5][1] - bounds[5][0] > 1
    assert chunk_bounds(1000, 2, 16, uneven=20)[:2] == [(0, 16), (16, 20)]
