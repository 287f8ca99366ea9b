"""A policy after `extends` is resolved: what evaluation consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linkgate.policy.model import Override, Rules, Waiver
from linkgate.rules import RULES_BY_ID
from linkgate.rules.base import Rule
from linkgate.rules.globs import matches_path
from linkgate.rules.target import Target
from linkgate.rules.versioning import compile_limits

if TYPE_CHECKING:
    from linkgate.profiles.model import Profile


@dataclass(frozen=True)
class Policy:
    name: str
    source: Path | None
    rules: Rules
    overrides: tuple[Override, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)
    # Rule id -> line in `source` that configures it (its key, or `extends:` when inherited),
    # so CI annotations can point at the policy line a finding breaks.
    rule_lines: Mapping[str, int] = field(default_factory=dict)
    # `target:` values (shipped names, or absolute paths of profile files) -> the loaded profile.
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    # Compiled settings per combination of matching overrides: most trees have one.
    _settings: dict[tuple[int, ...], tuple[tuple[Rule, Any], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def settings_for(self, path: str) -> tuple[tuple[Rule, Any], ...]:
        """The rules that apply to `path`, each with its compiled setting."""
        matching = tuple(i for i, o in enumerate(self.overrides) if matches_path(path, o.paths))
        if matching not in self._settings:
            self._settings[matching] = tuple(rule_settings(self.rules_for(path), self.profiles))
        return self._settings[matching]

    def rules_for(self, path: str) -> Rules:
        """The base rules with every matching override applied, in file order."""
        matching = [o for o in self.overrides if matches_path(path, o.paths)]
        if not matching:
            return self.rules
        merged = self.rules.model_dump(by_alias=True, exclude_unset=True)
        for override in matching:
            merged.update(override.rules.model_dump(by_alias=True, exclude_unset=True))
        return Rules.model_validate(merged)


def rule_settings(rules: Rules, profiles: Mapping[str, Profile] | None = None) -> list[tuple[Rule, Any]]:
    """The configured rules, each with the setting its check takes (version limits parsed once).

    `profiles` are the policy's loaded target profiles, by the `target:` value naming them.
    """
    tokens = frozenset(rules.allowed_tokens)
    glibc = None if rules.max_glibc is None else {"GLIBC": rules.max_glibc}
    settings: list[tuple[str, Any]] = [
        ("max-glibc", None if glibc is None else compile_limits(glibc, tokens)),
        ("max-versions", None if rules.max_versions is None else compile_limits(rules.max_versions, tokens)),
        ("allowed-needed", rules.allowed_needed),
        ("forbidden-needed", rules.forbidden_needed),
        ("forbid-upx", rules.forbid_upx),
        ("linkage", rules.linkage),
        ("interpreters", rules.interpreters),
        ("architectures", rules.architectures),
        ("target", None if rules.target is None else Target(rules.target, (profiles or {}).get(rules.target))),
    ]
    return [(RULES_BY_ID[rule_id], value) for rule_id, value in settings if value is not None]
