"""Debian roots built from Debian's own packages: `apt-get download` + `dpkg -x`, no containers.

The apt sources for a suite are derived from the machine's own
`/etc/apt/sources.list.d/debian.sources` (only `Suites:` changes), so no
registry host name is written into the repository. apt runs with a private
list, cache and (empty) status directory: the machine's apt state is never
touched, and its installed packages never win over the suite's.

Used by scripts/gen_debian_profiles.py (shipped profiles) and by the loader
tests (run binaries inside the same roots with chroot).
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SYSTEM_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "tests" / ".build" / "debian-roots"

# Debian release -> suite.
SUITES = {"11": "bullseye", "12": "bookworm", "13": "trixie"}
# A minimal system: every `Priority: required` package of the suite and what
# they depend on (as debootstrap's minbase), plus the C++ runtime and zlib.
EXTRA_PACKAGES = ("libstdc++6", "libgcc-s1", "zlib1g")
# Of those, what is extracted into the root: the libraries, plus base-files
# (os-release; from Debian 13 on also the /lib -> usr/lib links) and libc-bin
# (ld.so.conf).
_EXTRACTED_OTHERS = ("base-files", "libc-bin", "zlib1g")
SELECTION = "libraries of a minimal system: Priority required packages and their dependencies, plus " + (
    ", ".join(EXTRA_PACKAGES)
)


class RootUnavailableError(RuntimeError):
    """The suite's packages could not be fetched or extracted."""


RootUnavailable = RootUnavailableError  # the name tests/elf/test_gobuild.py uses


@dataclass(frozen=True)
class DebianRoot:
    """An extracted root and the package versions it was made from."""

    release: str
    suite: str
    path: Path
    packages: dict[str, str]


def debian_root(release: str, cache: Path = CACHE) -> DebianRoot:
    """The root of Debian `release` ("11", "13"), fetched and extracted on first use (~40 MB)."""
    suite = SUITES[release]
    base = cache / suite
    with locked(cache / f"{suite}.lock"):
        done = base / "packages.json"
        if not done.is_file():
            _build(suite, base)
            versions = _versions(_extracted(base / "cache" / "archives"), base)
            done.write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n")
        packages = json.loads(done.read_text())
    return DebianRoot(release, suite, base / "root", packages)


def fetch_packages(suite: str, packages: tuple[str, ...], base: Path, architecture: str | None = None) -> Path:
    """`packages` of `suite` downloaded with `apt-get download` and extracted into `base`/root.

    Only those packages (no dependency closure); `name/suite` makes apt take
    the suite's version even when the machine has a newer one installed.
    Done once: a second call with the same `base` only returns the root.
    """
    root, debs = base / "root", base / "debs"
    with locked(base.parent / f"{base.name}.lock"):
        done = base / "fetched"
        if not done.is_file() or done.read_text() != " ".join(packages):
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(debs, ignore_errors=True)
            debs.mkdir(parents=True)
            options = _apt_options(base, suite)
            if architecture is not None:  # another architecture's packages (arm64 libc6 for qemu-user)
                options += ["-o", f"APT::Architecture={architecture}", "-o", f"APT::Architectures={architecture}"]
            _run(["apt-get", *options, "update"], base)
            _run(["apt-get", *options, "download", *(f"{p}/{suite}" for p in packages)], debs)
            for deb in sorted(debs.glob("*.deb")):
                _run(["dpkg", "-x", str(deb), str(root)], base)
            done.write_text(" ".join(packages))
    return root


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialise builds between concurrent test runs and the generator script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build(suite: str, base: Path) -> None:
    root, archives = base / "root", base / "cache" / "archives"
    # A rebuild starts clean: an older download must not be extracted over a newer one.
    shutil.rmtree(root, ignore_errors=True)
    for stale in archives.glob("*.deb"):
        stale.unlink()
    options = _apt_options(base, suite)
    _run(["apt-get", *options, "update"], base)
    wanted = [*_required(options, base), *EXTRA_PACKAGES]
    # apt resolves the dependencies against the empty status: the whole closure is downloaded.
    install = ["install", "--download-only", "--no-install-recommends", "-y", *wanted]
    _run(["apt-get", *options, "-o", "Debug::NoLocking=1", *install], base)
    for deb in _extracted(archives):
        _run(["dpkg", "-x", str(deb), str(root)], base)


def _required(options: list[str], base: Path) -> list[str]:
    """The suite's `Priority: required` packages, from the downloaded package lists."""
    available = _run(["apt-cache", *options, "dumpavail"], base)
    stanzas = (dict(re.findall(r"^([\w-]+): (.*)$", s, re.M)) for s in available.split("\n\n"))
    return sorted({s["Package"] for s in stanzas if s.get("Priority") == "required" and "Package" in s})


def _extracted(archives: Path) -> list[Path]:
    debs = sorted(archives.glob("*.deb"))
    return [d for d in debs if d.name.startswith("lib") or d.name.split("_", 1)[0] in _EXTRACTED_OTHERS]


def derived_sources(system: str, suite: str) -> str:
    """The machine's deb822 sources with the main archive moved to `suite`.

    Only the stanza of the base release is kept (not -security), and its URIs
    stay exactly as the machine has them.
    """
    stanzas = [s for s in re.split(r"\n\s*\n", system) if re.search(r"^Suites:", s, re.M)]
    main = [s for s in stanzas if not re.search(r"^Suites:.*-security", s, re.M)]
    if not main:
        raise RootUnavailableError(f"no main archive stanza in {SYSTEM_SOURCES}")
    changed = [re.sub(r"^Suites:.*$", f"Suites: {suite}", s, flags=re.M) for s in main]
    return "\n\n".join(changed) + "\n"


def _apt_options(base: Path, suite: str) -> list[str]:
    sources = base / "debian.sources"
    base.mkdir(parents=True, exist_ok=True)
    sources.write_text(derived_sources(SYSTEM_SOURCES.read_text(), suite))
    state = base / "state"
    for directory in (state / "lists" / "partial", base / "cache" / "archives" / "partial"):
        directory.mkdir(parents=True, exist_ok=True)
    # An empty dpkg status: the machine's installed (newer) packages must not be candidates.
    (state / "status").touch()
    return [
        "-q",
        "-o", f"Dir::Etc::sourcelist={sources}",
        "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State={state}",
        "-o", f"Dir::State::Lists={state / 'lists'}",
        "-o", f"Dir::State::status={state / 'status'}",
        "-o", f"Dir::Cache={base / 'cache'}",
        "-o", "APT::Sandbox::User=root",
    ]  # fmt: skip


def _versions(debs: list[Path], base: Path) -> dict[str, str]:
    """package -> version, as dpkg reads them from the extracted files."""
    versions: dict[str, str] = {}
    for deb in debs:
        fields = _run(["dpkg-deb", "--field", str(deb), "Package", "Version"], base)
        parsed = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)
        versions[parsed["Package"]] = parsed["Version"]
    return versions


def _run(command: list[str], cwd: Path) -> str:
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RootUnavailableError(f"{command[0]} failed: {error}") from error
    if result.returncode != 0:
        raise RootUnavailableError(f"{' '.join(command)} exited {result.returncode}: {result.stderr[-2000:]}")
    return result.stdout
