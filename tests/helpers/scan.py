"""check_all: the results of a scan one artifact at a time, as the tests and benchmarks read them."""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.check.discover import Candidate
from linkgate.check.scan import ScanOptions, check_each
from linkgate.core.findings import ArtifactResult


def check_all(candidates: list[Candidate], options: ScanOptions) -> Iterator[ArtifactResult | None]:
    """Results in candidate order (an archive's members one by one); None for a file holding no ELF."""
    for results in check_each(candidates, options):
        yield from results or (None,)
