"""Whether each artifact runs on each shipped target: the matrix a step summary shows.

Computed by linkgate.check.target_matrix (only for runs that write a summary) and
carried in the report, so renderers stay pure functions of it.
"""

from __future__ import annotations

from collections.abc import Mapping

from linkgate.core.records import field, record


@record
class Cell:
    """One artifact on one target: runs (True), does not (False), or cannot be told (None)."""

    runs: bool | None
    reason: str = ""  # the first thing the loader would name (`GLIBC_2.34`, `libssl.so.3`)


@record
class TargetMatrix:
    """Target names (columns, in order) and each artifact's cells (rows, by the artifact as given;
    none for a container image, which is judged on its own system)."""

    targets: tuple[str, ...]
    rows: Mapping[str, tuple[Cell, ...]] = field(default_factory=dict)
