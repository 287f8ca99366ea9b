"""Where policies are: the shipped presets, and the nearest linkgate.yml. No parsing here.

Kept apart from the loader so that a run whose compiled policy is cached can find
its policy without importing the YAML and validation libraries.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_PRESET = "default"
# In one directory at most one of these may exist (two would be two policies: which one is meant?).
POLICY_FILE_NAMES = ("linkgate.yml", "linkgate.yaml", ".linkgate.yml", ".linkgate.yaml")
# A Python project's tool settings: used when it has a [tool.linkgate] table and no policy file is beside it.
PYPROJECT = "pyproject.toml"


# `[tool.linkgate]`, `[tool.linkgate.rules]`, `[[tool.linkgate.waivers]]` at the start of a line.
# A broken header (`[tool.linkgate` unclosed) counts too: the loader then says the TOML is invalid.
_TABLE = re.compile(rb"^[ \t]*\[\[?[ \t]*tool[ \t]*\.[ \t]*linkgate(?![\w-])", re.M)


def presets_dir() -> Path:
    """The shipped presets: package data after `pip install`, the top-level policies/ in a checkout."""
    import importlib.resources  # noqa: PLC0415 - lazy: start-up
    from pathlib import Path  # noqa: PLC0415 - lazy: start-up

    try:
        return Path(str(importlib.resources.files("linkgate.policies")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "policies"


def preset_names() -> list[str]:
    """The presets, the Android ones (android, android-21 … android-36) last."""
    names = (path.stem for path in presets_dir().glob("*.yml"))
    return sorted(names, key=lambda name: (name.startswith("android"), name))


def find_policy_file(start: str | os.PathLike[str]) -> str | None:
    """The policy file in `start` or the nearest parent that has one: linkgate.yml (.yaml, or hidden),
    else a pyproject.toml with a [tool.linkgate] table. PolicyError when a directory has two policy files."""
    directory = os.fspath(start)
    while True:
        found = [name for name in POLICY_FILE_NAMES if _exists(os.path.join(directory, name))]
        if len(found) > 1:
            from linkgate.policy.errors import PolicyError  # noqa: PLC0415 - lazy: start-up

            message = f"{' and '.join(found)} are both policies here: keep one"
            raise PolicyError(os.path.join(directory, found[0]), None, None, message)
        if found:
            return os.path.join(directory, found[0])
        pyproject = os.path.join(directory, PYPROJECT)
        if _has_linkgate_table(pyproject):
            return pyproject
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _exists(path: str) -> bool:
    # Not isfile(): a linkgate.yml that is a FIFO or a dangling link is an error, not "no policy".
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def _has_linkgate_table(path: str) -> bool:
    """Whether a pyproject.toml says anything under tool.linkgate (a cheap look: the loader parses it).

    A pyproject.toml that cannot be read is not a policy: a Python project's file is not linkgate's to judge
    unless it names linkgate; the loader reports every problem of one that does."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 20)
    except OSError:
        return False
    return _TABLE.search(head) is not None


def is_preset_name(spec: str) -> bool:
    """`default`, `debian-11` name shipped policies; anything with a slash or a YAML suffix is a file."""
    return "/" not in spec and not spec.endswith((".yml", ".yaml"))
