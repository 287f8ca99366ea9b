"""Profiles on disk: YAML in, YAML out; errors name the file, line and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from linkgate.policy.yamlsource import YamlError, load_yaml
from linkgate.profiles.errors import ProfileError
from linkgate.profiles.model import Profile

__all__ = ["ProfileError", "profile_yaml", "read_profile"]

HEADER = (
    "# A linkgate target profile: what the dynamic loader of this system can find.\n"
    "# Use it in a policy as `rules: {target: NAME-or-path}`.\n"
)


# libyaml when available: a captured profile has thousands of lines.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_profile(path: Path) -> Profile:
    """The profile in `path`; ProfileError with the line of the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ProfileError(str(path), None, f"cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ProfileError(str(path), None, "not UTF-8 text") from None
    try:
        return Profile.model_validate(yaml.load(text, Loader=_FAST_LOADER))  # noqa: S506 - a safe loader
    except (yaml.YAMLError, ValidationError):
        # The careful path: versions kept as written (2.30 is not 2.3), errors with lines.
        return _read_carefully(path, text)


def _read_carefully(path: Path, text: str) -> Profile:
    try:
        document = load_yaml(text)
    except YamlError as error:
        raise ProfileError(str(path), error.line, f"invalid YAML: {error}") from None
    if not isinstance(document.data, dict):
        raise ProfileError(str(path), 1, "a profile is a mapping (name:, libraries:, ...)")
    try:
        return Profile.model_validate(document.data)
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(first["loc"])
        key = ".".join(str(part) for part in location)
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ProfileError(str(path), document.line_of(location), f"{key}: {message}") from None


def profile_yaml(profile: Profile, header: str = HEADER) -> str:
    """Stable YAML: keys in model order, short lists on one line, versions quoted."""
    data: Any = profile.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    return header + body
