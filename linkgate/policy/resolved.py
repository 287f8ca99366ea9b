"""A policy after `extends` is resolved: what evaluation consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkgate.policy.model import Override, Rules, Waiver
from linkgate.rules import RULES_BY_ID
from linkgate.rules.base import Rule
from linkgate.rules.globs import matches_path


@dataclass(frozen=True)
class Policy:
    name: str
    source: Path | None
    rules: Rules
    overrides: tuple[Override, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)

    def rules_for(self, path: str) -> Rules:
        """The base rules with every matching override applied, in file order."""
        matching = [o for o in self.overrides if matches_path(path, o.paths)]
        if not matching:
            return self.rules
        merged = self.rules.model_dump(by_alias=True, exclude_unset=True)
        for override in matching:
            merged.update(override.rules.model_dump(by_alias=True, exclude_unset=True))
        return Rules.model_validate(merged)


def rule_settings(rules: Rules) -> list[tuple[Rule, Any]]:
    """The configured rules, each with the setting its check takes."""
    tokens = frozenset(rules.allowed_tokens)
    settings: list[tuple[str, Any]] = [
        ("max-glibc", None if rules.max_glibc is None else (rules.max_glibc, tokens)),
        ("max-versions", None if rules.max_versions is None else (rules.max_versions, tokens)),
        ("allowed-needed", rules.allowed_needed),
        ("forbidden-needed", rules.forbidden_needed),
        ("forbid-upx", rules.forbid_upx),
        ("linkage", rules.linkage),
        ("interpreters", rules.interpreters),
        ("architectures", rules.architectures),
    ]
    return [(RULES_BY_ID[rule_id], value) for rule_id, value in settings if value is not None]
