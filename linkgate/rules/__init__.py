"""The rule catalogue, in the order findings are reported."""

from __future__ import annotations

from collections.abc import Iterable

from linkgate.rules import (
    allowed_needed,
    android_api,
    android_linker,
    android_package,
    android_page_size,
    architectures,
    archive_format,
    elf_format,
    forbid_upx,
    forbidden_needed,
    hardening,
    image_target,
    interpreters,
    linkage,
    max_glibc,
    max_isa,
    max_versions,
    min_kernel,
    page_size,
    runpath,
    static_glibc,
    target,
    wheel_tag,
)
from linkgate.rules.base import ConfigurableRule, ConfiguredRule, FactReader, Rule

# The rules a policy configures, each under its id, in the order findings are reported.
_CONFIGURABLE = (
    target.RULE,
    max_glibc.RULE,
    max_versions.RULE,
    allowed_needed.RULE,
    forbidden_needed.RULE,
    forbid_upx.RULE,
    linkage.RULE,
    interpreters.RULE,
    architectures.RULE,
    static_glibc.RULE,
    runpath.RULE,
    hardening.RULE,
    max_isa.RULE,
    min_kernel.RULE,
    page_size.RULE,
    android_api.RULE,
    android_linker.RULE,
    android_page_size.RULE,
)
POLICY_RULES: tuple[ConfigurableRule, ...] = _CONFIGURABLE
ALL_RULES: tuple[Rule, ...] = (
    elf_format.RULE, archive_format.RULE, *_CONFIGURABLE, wheel_tag.RULE, android_package.RULE, image_target.RULE
)  # fmt: skip
RULES_BY_ID = {rule.id: rule for rule in ALL_RULES}


def fact_readers(configured: Iterable[ConfiguredRule]) -> tuple[FactReader, ...]:
    """The costly fact readers the configured rules need, each once: read only what they judge."""
    return tuple(dict.fromkeys(read for rule in configured for read in rule.reads))
