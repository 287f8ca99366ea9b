"""Where policies are: the shipped presets, and the nearest linkgate.yml. No parsing here.

Kept apart from the loader so that a run whose compiled policy is cached can find
its policy without importing the YAML and validation libraries.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_PRESET = "default"
POLICY_FILE_NAMES = ("linkgate.yml", ".linkgate.yml")


def presets_dir() -> Path:
    """The shipped presets: package data after `pip install`, the top-level policies/ in a checkout."""
    import importlib.resources  # noqa: PLC0415 - lazy: start-up
    from pathlib import Path  # noqa: PLC0415 - lazy: start-up

    try:
        return Path(str(importlib.resources.files("linkgate.policies")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "policies"


def preset_names() -> list[str]:
    return sorted(path.stem for path in presets_dir().glob("*.yml"))


def find_policy_file(start: str | os.PathLike[str]) -> str | None:
    """linkgate.yml or .linkgate.yml in `start` or the nearest parent that has one."""
    directory = os.fspath(start)
    while True:
        for name in POLICY_FILE_NAMES:
            candidate = os.path.join(directory, name)
            # Not isfile(): a linkgate.yml that is a FIFO or a dangling link is an error, not "no policy".
            try:
                os.lstat(candidate)
            except (FileNotFoundError, NotADirectoryError):
                continue
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def is_preset_name(spec: str) -> bool:
    """`default`, `debian-11` name shipped policies; anything with a slash or a YAML suffix is a file."""
    return "/" not in spec and not spec.endswith((".yml", ".yaml"))
