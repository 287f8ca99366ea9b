"""The policy as users write it: strict, frozen pydantic models.

Keys use the YAML spelling (`max-glibc`); unknown keys are errors so a typo
never silently disables a rule. The `rules:` model is built from the rule
catalogue: each rule module declares the type of its own setting.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from linkgate.policy.compiled import ALLOWED_TOKENS, DIFF_CHANGES
from linkgate.rules import POLICY_RULES, RULES_BY_ID
from linkgate.rules.schema import Checked, Namespace, Version, keywords, shown


def _check_rule_id(value: str) -> str:
    if value not in RULES_BY_ID:
        raise ValueError(f"unknown rule {shown(value)} (known: {', '.join(sorted(RULES_BY_ID))})")
    return value


# The JSON schema lists the ids, so an editor flags `rule: max-glibcc` in a waiver too.
RuleId = Annotated[str, Checked(_check_rule_id, json_schema=keywords(enum=sorted(RULES_BY_ID)))]


def _failing_closed(levels: dict[str, str]) -> dict[str, str]:
    """What could not be read must fail: elf-format stays an error (a waiver can still name a path)."""
    if levels.get("elf-format", "error") != "error":
        raise ValueError("elf-format is always an error: an artifact that was not read must not pass")
    return levels


def _check_file_name(value: str) -> str:
    # A NUL cannot be in a file name, and Python refuses such a path with ValueError.
    if "\x00" in value:
        raise ValueError("a file name cannot contain a NUL character")
    return value


FileSpec = Annotated[str, Checked(_check_file_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def field_name(key: str) -> str:
    """The Python attribute of a `rules:` key: max-glibc -> max_glibc."""
    return key.replace("-", "_")


def _optional(schema: object) -> object:
    """`schema | None`, for a type known only at run time."""
    return Optional[schema]  # noqa: UP045 - `|` needs a type, the catalogue gives objects


# Every rule's setting, typed as its module declares; None (absent) means the rule is off.
Rules: type[_Strict] = create_model(  # type: ignore[call-overload]
    "Rules",
    __base__=_Strict,
    __doc__="Every rule's setting; an absent key means the rule is off.",
    **{field_name(ALLOWED_TOKENS): (tuple[str, ...], Field((), alias=ALLOWED_TOKENS))},
    **{field_name(rule.id): (_optional(rule.schema), Field(None, alias=rule.id)) for rule in POLICY_RULES},
)


def rule_values(rules: _Strict) -> dict[str, object]:
    """The keys a document sets, in YAML spelling, with their validated values."""
    return rules.model_dump(by_alias=True, exclude_unset=True)


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


def _check_change(value: str) -> str:
    if value not in DIFF_CHANGES:
        raise ValueError(f"unknown change {value!r} (known: {', '.join(DIFF_CHANGES)})")
    return value


def _check_target(value: str) -> str:
    if not value:
        raise ValueError("name a shipped profile (debian-11) or a profile file (./prod-host.yml)")
    return value


class DiffSettings(_Strict):
    """`diff:`: which changes between two builds `linkgate diff` tolerates."""

    allow_floor: dict[Namespace, Version] = Field({}, alias="allow-floor")
    ignore: tuple[Annotated[str, Checked(_check_change)], ...] = ()
    targets: tuple[Annotated[str, Checked(_check_target)], ...] | None = None


def diff_values(settings: DiffSettings | None) -> dict[str, object]:
    """The `diff:` keys a document sets, in YAML spelling."""
    return {} if settings is None else settings.model_dump(by_alias=True, exclude_unset=True)


class PolicyFile(_Strict):
    """One YAML document as written; `extends` is resolved by the loader."""

    extends: FileSpec | None = None
    rules: Rules = Rules()
    overrides: tuple[Override, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    severity: Annotated[dict[RuleId, Literal["error", "warning", "note"]], Checked(_failing_closed)] = {}
    description: str | None = None
    diff: DiffSettings | None = None
