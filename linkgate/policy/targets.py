"""`target:` in a policy: shipped profile names and profile files, found and loaded.

Shipped profiles live in profiles/ beside the presets (package data after
`pip install`); profiles/aliases.yml maps other names (rocky-9, manylinux2014)
to them. A `target:` that looks like a path is relative to the policy file
that says it, so it is made absolute when that file is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from linkgate.core.sourcefile import PROFILE_LIMIT, SourceFileError, read_source
from linkgate.core.yamlsource import YamlError, load_yaml
from linkgate.policy.model import PolicyFile, Rules, rule_values
from linkgate.profiles.errors import ProfileError

if TYPE_CHECKING:
    from linkgate.profiles.model import Profile

PROFILES_SUBDIR = "profiles"
ALIASES_FILE = "aliases.yml"


def profiles_dir(presets: Path) -> Path:
    return presets / PROFILES_SUBDIR


def is_path_spec(spec: str) -> bool:
    """`./prod.yml`, `/etc/x.yml`, `prod.yaml` are files; `debian-11` is a shipped name."""
    return "/" in spec or spec.endswith((".yml", ".yaml"))


# Listing order: distributions first, the manylinux tags last.
_FAMILY_ORDER = ("debian", "ubuntu", "rhel", "amazonlinux", "alpine", "manylinux")


def shipped_names(presets: Path) -> list[str]:
    """The shipped profiles (aliases not repeated): by family, then version (debian-11 before debian-12)."""
    paths = profiles_dir(presets).glob("*.yml")
    return sorted((p.stem for p in paths if p.name != ALIASES_FILE), key=listing_key)


def listing_key(name: str) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """Family rank, then natural order: manylinux_2_5 < manylinux_2_17, ubuntu-18.04 < ubuntu-20.04."""
    rank = next((i for i, f in enumerate(_FAMILY_ORDER) if name.startswith(f)), len(_FAMILY_ORDER))
    parts = [p for p in re.split(r"(\d+)", name) if p]
    return rank, tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def aliases(presets: Path) -> dict[str, str]:
    """alias -> shipped profile name."""
    path = profiles_dir(presets) / ALIASES_FILE
    if not path.is_file():
        return {}
    try:
        data = load_yaml(read_source(path, PROFILE_LIMIT)).data or {}
    except (SourceFileError, YamlError) as error:
        raise ProfileError(str(path), error.line, str(error)) from None
    if not isinstance(data, dict):
        raise ProfileError(str(path), 1, "(top level): a mapping of alias to profile name")
    return {str(k): str(v) for k, v in data.items()}


def shipped_path(name: str, presets: Path) -> Path | None:
    """The file of shipped profile `name` (or of the profile it is an alias of)."""
    directory = profiles_dir(presets)
    name = aliases(presets).get(name, name)
    path = directory / f"{name}.yml"
    return path if name != ALIASES_FILE.removesuffix(".yml") and is_file(path) else None


def is_file(path: Path) -> bool:
    """Path.is_file, False for a name the system refuses (longer than NAME_MAX): no such file."""
    try:
        return path.is_file()
    except OSError:
        return False


def anchored(document: PolicyFile, directory: Path) -> PolicyFile:
    """`document` with every path-like `target:` made absolute (relative to `directory`)."""
    rules = _anchored_rules(document.rules, directory)
    overrides = [o.model_copy(update={"rules": _anchored_rules(o.rules, directory)}) for o in document.overrides]
    return document.model_copy(update={"rules": rules, "overrides": tuple(overrides)})


def _anchored_rules(rules: Rules, directory: Path) -> Rules:
    data = rule_values(rules)
    target = data.get("target")
    if not isinstance(target, str) or not is_path_spec(target):
        return rules
    data["target"] = str((directory / target).resolve())
    return Rules.model_validate(data)


def load_profiles(specs: Iterable[str], presets: Path) -> dict[str, Profile]:
    """spec -> profile; ProfileError names the file and line of a broken one."""
    wanted = list(dict.fromkeys(specs))
    if not wanted:
        return {}
    from linkgate.profiles.files import read_profile  # noqa: PLC0415 - lazy: start-up

    loaded: dict[str, Profile] = {}
    for spec in wanted:
        path = profile_path(spec, presets)
        if path is None:
            known = ", ".join(shipped_names(presets))
            raise ProfileError(spec, None, f"no such target profile (shipped: {known})")
        loaded[spec] = read_profile(path)
    return loaded


def profile_path(spec: str, presets: Path) -> Path | None:
    """The file a `target:` value names (None for an unknown shipped name)."""
    return Path(spec) if is_path_spec(spec) else shipped_path(spec, presets)


def profile_preset(path: Path) -> PolicyFile:
    """`--policy debian-11`: exactly "runs on Debian 11", no other rule."""
    return PolicyFile.model_validate(
        {"description": f"runs on {path.stem} (target profile)", "rules": {"target": path.stem}}
    )


def load_shipped(presets: Path) -> dict[str, Profile]:
    """Every shipped profile by name, in natural order (for `inspect` and `profile list`)."""
    from linkgate.profiles.files import read_profile  # noqa: PLC0415 - lazy: start-up

    directory = profiles_dir(presets)
    return {name: read_profile(directory / f"{name}.yml") for name in shipped_names(presets)}
