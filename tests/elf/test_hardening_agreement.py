"""linkgate's hardening facts against two peers, checksec and hardening-check,
over every ELF file in /usr/bin and /usr/sbin of this machine.

Per field, where the peer answers, at least 99.5% of the files must agree.
checksec's fortifiable count is a different quantity (it counts symbol names
with their leading underscores stripped, so __stpcpy counts as stpcpy): there
every disagreement must be exactly that, and the rest must agree as well.
docs/hardening.md explains each class of disagreement.
"""

from __future__ import annotations

import pytest

from benchmarks.hardening_agreement import DEFAULT_ROOTS, collect, compare, table
from benchmarks.trees import elf_paths
from tests.helpers import require_tool
from tests.helpers.hardening_builds import build_variants

THRESHOLD = 99.5


@pytest.mark.slow
def test_agreement_with_checksec_and_hardening_check(capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("checksec")
    require_tool("hardening-check")
    require_tool("objdump")
    paths = elf_paths(DEFAULT_ROOTS)
    assert len(paths) > 50, "too few ELF files on this machine for an agreement figure"
    samples = collect(paths)
    results = compare(samples)
    with capsys.disabled():
        print("\n" + table(results, samples))
    unread = [s.path for s in samples if s.ours is None or s.ours.hardening is None]
    assert not unread, f"linkgate could not judge {unread}"
    for result in results:
        label = f"{result.peer} / {result.name}"
        # Every field must have been compared on most files, or the peer's output was misread.
        assert result.compared + result.abstained >= 0.9 * len(samples), label
        if (result.peer, result.name) == ("checksec", "fortify-able"):
            unexplained = [d for d in result.disagreements if not d[3]]
            assert not unexplained, f"{label}: {unexplained}"
            continue
        assert result.agreement >= THRESHOLD, f"{label}: {result.agreement:.2f}% agree"


@pytest.mark.slow
def test_agreement_on_each_flag(tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    """The system's binaries have no CET and no stack clash probes: the builds with each
    flag on and off give the peers a positive answer to agree with."""
    require_tool("checksec")
    require_tool("hardening-check")
    built = build_variants(tmp_path_factory.mktemp("agreement"))
    samples = collect(str(path) for path in built.values())
    results = compare(samples)
    with capsys.disabled():
        print("\n" + table(results, samples))
    by_field = {(r.peer, r.name): r for r in results}
    # The positive answers this test exists for.
    assert by_field["hardening-check", "stack clash"].compared == len(samples)
    assert by_field["hardening-check", "cfi (IBT+SHSTK)"].agreed == len(samples)
    for result in results:
        unexplained = [d for d in result.disagreements if not d[3]]
        assert not unexplained, f"{result.peer} / {result.name}: {unexplained}"
