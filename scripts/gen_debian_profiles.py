"""Generate the shipped Debian 11, 12 and 13 profiles from Debian's real packages.

For each release: derive an apt sources file from the machine's own (only
`Suites:` changes), download the packages of a minimal system into a private
cache (apt resolves them), `dpkg -x` the libraries into a root, and run
`linkgate profile capture` on it (scripts/debian_roots.py).
The package versions go into the profile's `source.packages`.

    python -m scripts.gen_debian_profiles   # from the repository root, as root (apt)

The tests build the same roots (tests/.build/debian-roots) and check that a
fresh capture still equals these files.
"""

from __future__ import annotations

import sys

from linkgate.profiles.capture import capture
from linkgate.profiles.model import Machine, Profile, Provenance
from scripts.debian_roots import SELECTION, SUITES, DebianRoot, debian_root
from scripts.profile_output import write_alias_index, write_profile

GENERATOR = "scripts/gen_debian_profiles.py"
# The kernel each release ships (docs/machine-floors.md); amd64 is built for the x86-64 baseline, 4 KiB pages.
KERNELS = {"11": "5.10", "12": "6.1", "13": "6.12"}


def debian_machine(release: str) -> Machine:
    return Machine.model_validate(
        {"kernel": KERNELS[release], "isa": {"x86_64": "x86-64-baseline"}, "page-sizes": {"x86_64": [4096]}}
    )


def debian_profile(root: DebianRoot) -> Profile:
    """The captured profile of one extracted root, with where its data came from."""
    captured = capture(str(root.path), name=f"debian-{root.release}")
    source = Provenance(
        generator=GENERATOR,
        packages=root.packages,
        note=f"suite {root.suite}, amd64: {SELECTION}",
    )
    update = {"source": source, "aliases": (root.suite,), "machine": debian_machine(root.release)}
    return captured.model_copy(update=update)


def main() -> int:
    for release in SUITES:
        path = write_profile(debian_profile(debian_root(release)), GENERATOR)
        print(f"wrote {path}")
    write_alias_index()
    return 0


if __name__ == "__main__":
    sys.exit(main())
