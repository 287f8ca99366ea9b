"""Target profiles against the real loader.

Debian 11 and 13 roots are built from Debian's packages (scripts/debian_roots.py,
cached in tests/.build), each fixture artifact set is copied in and its program run
with chroot (proc mounted). linkgate's verdict for the same profile must equal the
loader's: runs or not, the exact set of missing versions, the missing library or
interpreter. A fresh `profile capture --root` of each root must equal the shipped
profile.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from linkgate.check.discover import discover
from linkgate.check.scan import ScanOptions
from linkgate.policy.loader import load_policy
from linkgate.policy.locate import presets_dir
from linkgate.policy.targets import profiles_dir
from linkgate.profiles.capture import capture
from linkgate.profiles.files import read_profile
from scripts.debian_roots import DebianRoot, debian_root
from scripts.gen_debian_profiles import debian_machine
from tests.helpers import require, require_tool, unavailable
from tests.helpers.scan import check_all
from tests.helpers.target_cases import CASES, assemble
from tests.helpers.upx_tools import PackerUnavailableError

RELEASES = ("11", "13")
IN_ROOT = "linkgate-test"


@dataclass(frozen=True)
class Verdict:
    """What stops a program: nothing (runs), its interpreter, a library, or versions."""

    runs: bool
    interpreter: bool = False
    libraries: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset()


def _require_root() -> None:
    if os.geteuid() != 0:
        message = "chroot and mount need root"
        unavailable(message)


@pytest.fixture(scope="session")
def roots() -> Iterator[dict[str, DebianRoot]]:
    """Debian 11 and 13, with /proc mounted while the tests run."""
    _require_root()
    for tool in ("apt-get", "apt-cache", "dpkg", "dpkg-deb", "chroot", "mount", "umount"):
        require_tool(tool)
    built = {release: debian_root(release) for release in RELEASES}
    mounted = []
    for root in built.values():
        proc = root.path / "proc"
        if not os.path.ismount(proc):
            subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
            mounted.append(proc)
        shutil.rmtree(root.path / IN_ROOT, ignore_errors=True)
    try:
        yield built
    finally:
        for proc in mounted:
            subprocess.run(["umount", str(proc)], check=False)


def _assembled(case: str, build_dir: Path) -> Path:
    try:
        return assemble(case, build_dir, require)
    except PackerUnavailableError as error:
        unavailable(str(error))


def loader_verdict(root: Path, case: str, case_dir: Path) -> Verdict:
    """Run bin/prog inside the root; read the loader's own words from stderr."""
    inside = root / IN_ROOT / case
    shutil.rmtree(inside, ignore_errors=True)
    shutil.copytree(case_dir, inside, symlinks=True)
    program = f"/{IN_ROOT}/{case}/bin/prog"
    result = subprocess.run(["chroot", str(root), program], capture_output=True, text=True, timeout=60, check=False)
    stderr = result.stderr
    libraries = re.findall(r"error while loading shared libraries: ([^:]+): cannot open shared object", stderr)
    return Verdict(
        runs=result.returncode == 0,
        # chroot itself reports the exec failure: the kernel found no interpreter.
        interpreter=result.returncode == 127 and "No such file or directory" in stderr and not libraries,
        libraries=frozenset(libraries),
        versions=frozenset(re.findall(r"(?<!weak )version [`']([^`']+)' not found", stderr)),
    )


def linkgate_verdict(release: str, case_dir: Path) -> Verdict:
    """`check --policy debian-N` of the whole artifact set, as the CLI runs it."""
    policy = load_policy(f"debian-{release}", Path.cwd())
    options = ScanOptions(policy=policy, today=datetime.date.today())
    results = [r for r in check_all(discover([str(case_dir)]), options) if r is not None]
    subjects = [f.subject for r in results for f in r.findings if f.rule == "target" and f.waived_by is None]
    return Verdict(
        runs=not subjects,
        interpreter=any(s.startswith("/") for s in subjects),
        libraries=frozenset(s for s in subjects if ".so" in s and not s.startswith("/")),
        versions=frozenset(s for s in subjects if ".so" not in s and not s.startswith("/")),
    )


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("case", list(CASES))
def test_prediction_equals_the_loader(roots: dict[str, DebianRoot], build_dir: Path, case: str, release: str) -> None:
    case_dir = _assembled(case, build_dir)
    loader = loader_verdict(roots[release].path, case, case_dir)
    predicted = linkgate_verdict(release, case_dir)
    assert predicted.runs == loader.runs, (loader, predicted)
    assert predicted.interpreter == loader.interpreter
    # The loader stops at the first library it cannot open, before any version
    # check; linkgate names every missing library, and the versions too.
    assert loader.libraries <= predicted.libraries
    assert bool(loader.libraries) == bool(predicted.libraries)
    if not loader.libraries:
        assert predicted.versions == loader.versions


KNOWN = {
    ("go-cgo", "11"): Verdict(False, versions=frozenset({"GLIBC_2.32", "GLIBC_2.34"})),
    ("gcc-c", "11"): Verdict(False, versions=frozenset({"GLIBC_2.34"})),
    ("zig-glibc-2.31", "11"): Verdict(True),
    ("zig-glibc-2.34", "11"): Verdict(False, versions=frozenset({"GLIBC_2.33", "GLIBC_2.34"})),
    ("zig-glibc-2.34", "13"): Verdict(True),
    ("musl-dynamic", "13"): Verdict(False, interpreter=True),
    ("gcc-static-pie", "11"): Verdict(True),
    ("shipped-lib", "11"): Verdict(False, versions=frozenset({"GLIBC_2.34"})),
    ("shipped-lib", "13"): Verdict(True),
    ("shipped-lib-missing", "13"): Verdict(False, libraries=frozenset({"libdemo.so.1"})),
    ("shipped-lib-too-old", "13"): Verdict(False, versions=frozenset({"DEMO_2.0"})),
    ("shipped-lib-unversioned", "13"): Verdict(True),
    ("weak-version-need", "13"): Verdict(True),
    ("strong-version-need", "13"): Verdict(False, versions=frozenset({"DEMO_2.0"})),
    ("upx-go-cgo", "11"): Verdict(False, versions=frozenset({"GLIBC_2.32", "GLIBC_2.34"})),
    ("upx-go-cgo", "13"): Verdict(True),
}


@pytest.mark.parametrize(("case", "release"), list(KNOWN))
def test_the_loader_says_what_the_scenario_expects(
    roots: dict[str, DebianRoot], build_dir: Path, case: str, release: str
) -> None:
    """The matrix is not vacuous: these verdicts are the ones the seed and issue name."""
    case_dir = _assembled(case, build_dir)
    assert loader_verdict(roots[release].path, case, case_dir) == KNOWN[case, release]


@pytest.mark.parametrize("release", RELEASES)
def test_capture_of_the_root_equals_the_shipped_profile(roots: dict[str, DebianRoot], release: str) -> None:
    captured = capture(str(roots[release].path), name=f"debian-{release}")
    shipped = read_profile(profiles_dir(presets_dir()) / f"debian-{release}.yml")
    provenance = {"source": None, "aliases": (), "machine": None}
    # The machine is the release's (scripts/gen_debian_profiles.py), not something a root holds.
    assert shipped.machine == debian_machine(release)
    assert captured.model_copy(update=provenance) == shipped.model_copy(update=provenance), (
        "Debian's packages changed: regenerate with `python -m scripts.gen_debian_profiles`"
    )
