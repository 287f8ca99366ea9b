"""The machine part of a captured profile: kernel, page size and CPU level (docs/machine-floors.md).

On the live system they are read from it (uname, sysconf, and the levels the
dynamic loader's `--help` lists as supported); for a copied root they are what
the user passes (`profile capture --kernel 2.6.32 --page-size 4096 --isa x86-64-v2`).
"""

from __future__ import annotations

import os
import re
import subprocess

from linkgate.profiles.model import Machine

_KERNEL = re.compile(r"^\d+(\.\d+){0,2}")
_SUPPORTED_LEVEL = re.compile(r"^\s*(x86-64-v[234]) \(supported")


def machine_of(kernel: str | None, page_size: int | None, isa: str | None, machine: str) -> Machine | None:
    """The Machine record from what is known; None when nothing is."""
    if kernel is None and page_size is None and isa is None:
        return None
    found = _KERNEL.match(kernel or "")
    return Machine.model_validate(
        {
            "kernel": found.group(0) if found else None,
            "isa": {machine: isa} if isa is not None else {},
            "page-sizes": {machine: [page_size]} if page_size is not None else {},
        }
    )


def live_machine(interpreters: dict[str, str]) -> Machine | None:
    """This system's own kernel, page size and (x86) the highest level its loader supports."""
    machine = os.uname().machine
    loader = next((path for path, arch in interpreters.items() if arch == machine and "ld-linux" in path), None)
    isa = _loader_level(loader) if machine == "x86_64" and loader is not None else None
    return machine_of(os.uname().release, os.sysconf("SC_PAGE_SIZE"), isa, machine)


def _loader_level(loader: str) -> str:
    """`ld.so --help` marks the levels this CPU supports ("x86-64-v3 (supported, searched)")."""
    try:
        shown = subprocess.run([loader, "--help"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "x86-64-baseline"
    levels = [m.group(1) for line in shown.splitlines() if (m := _SUPPORTED_LEVEL.match(line))]
    return max(levels, default="x86-64-baseline")
