"""Profiles on disk: YAML in, YAML out; errors name the file, line and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from linkgate.core.sourcefile import PROFILE_LIMIT, SourceFileError, read_source
from linkgate.core.yamlsource import YamlError, dotted, load_yaml
from linkgate.profiles.errors import ProfileError
from linkgate.profiles.model import Profile

__all__ = ["ProfileError", "profile_yaml", "read_profile"]

HEADER = (
    "# A linkgate target profile: what the dynamic loader of this system can find.\n"
    "# Use it in a policy as `rules: {target: NAME-or-path}`.\n"
)


def read_profile(path: Path) -> Profile:
    """The profile in `path`; ProfileError with the line and key of the first problem.

    Read like a policy (a regular file, bounded size, no aliases): a `target:` can name
    any file. The YAML reader keeps versions as written (2.30 is not 2.3).
    """
    try:
        document = load_yaml(read_source(path, PROFILE_LIMIT))
    except SourceFileError as error:
        raise ProfileError(str(path), error.line, f"(file): {error.message}") from None
    except YamlError as error:
        raise ProfileError(str(path), error.line, f"{error.key}: invalid YAML: {error}") from None
    if not isinstance(document.data, dict):
        raise ProfileError(str(path), 1, "(top level): a profile is a mapping (name:, libraries:, ...)")
    try:
        return Profile.model_validate(document.data)
    except ValidationError as error:
        first = error.errors()[0]
        # pydantic appends "[key]" when a mapping key is what is wrong; the key's path says that already.
        location = tuple(part for part in first["loc"] if part != "[key]")
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ProfileError(str(path), document.line_of(location), f"{dotted(location)}: {message}") from None


def profile_yaml(profile: Profile, header: str = HEADER) -> str:
    """Stable YAML: keys in model order, short lists on one line, versions quoted."""
    data: Any = profile.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    return header + body
