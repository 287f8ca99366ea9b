"""The policy as users write it: strict, frozen pydantic models.

Keys use the YAML spelling (`max-glibc`); unknown keys are errors so a typo
never silently disables a rule.
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from linkgate.rules import RULES_BY_ID

_VERSION = re.compile(r"^\d+(\.\d+)*$")
# Real versions are a few characters ("2.31", "3.4.32"); a huge one is refused here, with
# a short message, before anything turns its parts into integers.
MAX_VERSION_LENGTH = 32
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def shown(value: str, limit: int = 40) -> str:
    """`value` quoted for a message, cut short: a hostile policy must not fill the log."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _version_text(value: Any) -> Any:
    """Versions must keep their spelling: 2.30 is not 2.3.

    The YAML loader hands floats over as their source text; a real float here
    (from JSON or Python) has lost trailing zeros, so it is refused.
    """
    if isinstance(value, float):
        raise ValueError(f"write the version as a quoted string (got the number {value!r})")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _check_version(value: str) -> str:
    if len(value) > MAX_VERSION_LENGTH:
        raise ValueError(f'version of {len(value)} characters: at most {MAX_VERSION_LENGTH}, like "2.31"')
    if not _VERSION.match(value):
        raise ValueError(f'{value!r} is not a version like "2.31"')
    return value


def _check_namespace(value: str) -> str:
    if not _NAMESPACE.match(value):
        raise ValueError(f"{shown(value)} is not a version namespace like GLIBCXX")
    return value


def _check_file_name(value: str) -> str:
    # A NUL cannot be in a file name, and Python refuses such a path with ValueError.
    if "\x00" in value:
        raise ValueError("a file name cannot contain a NUL character")
    return value


def _check_rule_id(value: str) -> str:
    if value not in RULES_BY_ID:
        raise ValueError(f"unknown rule {shown(value)} (known: {', '.join(sorted(RULES_BY_ID))})")
    return value


Version = Annotated[str, BeforeValidator(_version_text), AfterValidator(_check_version)]
Namespace = Annotated[str, AfterValidator(_check_namespace)]
RuleId = Annotated[str, AfterValidator(_check_rule_id)]
FileSpec = Annotated[str, AfterValidator(_check_file_name)]
Globs = tuple[str, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Rules(_Strict):
    """Every rule's setting; None means the rule is off."""

    max_glibc: Version | None = Field(None, alias="max-glibc")
    max_versions: dict[Namespace, Version] | None = Field(None, alias="max-versions")
    allowed_tokens: tuple[str, ...] = Field((), alias="allowed-tokens")
    allowed_needed: Globs | None = Field(None, alias="allowed-needed")
    forbidden_needed: Globs | None = Field(None, alias="forbidden-needed")
    forbid_upx: bool | None = Field(None, alias="forbid-upx")
    linkage: Literal["static", "dynamic", "any"] | None = None
    interpreters: Globs | None = None
    architectures: tuple[str, ...] | None = None
    # A target profile: a shipped name (debian-11) or a path relative to this file (./prod-host.yml).
    target: FileSpec | None = Field(None, min_length=1)


class Override(_Strict):
    """Different rule settings for artifacts whose path matches `paths`."""

    paths: tuple[str, ...] = Field(min_length=1)
    rules: Rules


class Waiver(_Strict):
    """A known, accepted finding: it is reported as waived instead of failing the run."""

    rule: RuleId
    paths: tuple[str, ...] = ("*",)
    subject: str = "*"
    reason: str = Field(min_length=1)
    expires: datetime.date | None = None


class PolicyFile(_Strict):
    """One YAML document as written; `extends` is resolved by the loader."""

    extends: FileSpec | None = None
    rules: Rules = Rules()
    overrides: tuple[Override, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    severity: dict[RuleId, Literal["error", "warning", "note"]] = {}
    description: str | None = None
