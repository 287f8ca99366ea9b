"""diff-floor: the oldest C (or C++, GCC...) runtime the artifact accepts rose.

The floor of a symbol-version namespace (GLIBC, GLIBCXX, CXXABI, GCC, ZLIB...)
is the newest version the artifact needs in it. A rising floor means systems
between the two floors no longer run it: `GLIBC floor 2.17 -> 2.34` is
"version 'GLIBC_2.34' not found" on Debian 11. The finding names the symbols
that raised it (those needing a version above the old floor), well-known
culprits first, with why: `__libc_start_main` = every executable linked
against glibc >= 2.34.

Worse (`floor`): any rise, unless the policy allows it:
`diff: {allow-floor: {GLIBC: "2.28"}}` lets the GLIBC floor rise up to 2.28.
A namespace that appears counts as rising from none. Noted only: a floor that
drops or disappears. Weak version references do not count (the loader only
warns). UPX-packed files are judged by their payload.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change, versions_text
from linkgate.elf.facts import ElfFacts, VersionNeed, split_version_token
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules import culprits
from linkgate.rules.base import Rule, short_list
from linkgate.rules.remedies import glibc_fix, runtime_fix, static_fix

RULE = Rule("diff-floor", __doc__ or "")
# Reported in this order, then any other namespace alphabetically.
_FIRST = ("GLIBC", "GLIBCXX", "CXXABI", "GCC")

Floor = tuple[int, ...]


def floors(facts: ElfFacts) -> dict[str, Floor]:
    """Namespace -> the newest numeric version of it the file strongly needs."""
    result: dict[str, Floor] = {}
    for need in facts.version_needs:
        parsed = split_version_token(need.version)
        if parsed is not None and not need.weak:
            namespace, version = parsed
            result[namespace] = max(result.get(namespace, version), version)
    return result


def compare(old: Build, new: Build, settings: CompiledDiff) -> Iterator[Change]:
    before, after = floors(old.judged), floors(new.judged)
    for namespace in sorted(before.keys() | after.keys(), key=_order):
        was, now = before.get(namespace), after.get(namespace)
        if now is not None and (was is None or now > was):
            yield rising(namespace, was, now, new.judged, settings)
        elif now != was:
            yield Change(namespace, f"{namespace} floor {versions_text(was)} -> {versions_text(now)}")


def _order(namespace: str) -> tuple[int, str]:
    return (_FIRST.index(namespace) if namespace in _FIRST else len(_FIRST), namespace)


def rising(namespace: str, was: Floor | None, now: Floor, facts: ElfFacts, settings: CompiledDiff) -> Change:
    """The change `namespace` floor `was` -> `now` of `facts`: worse unless diff.allow-floor allows it."""
    token = f"{namespace}_{versions_text(now)}"
    libraries = ", ".join(dict.fromkeys(n.library for n in facts.version_needs if n.version == token))
    symbols = raisers(facts, namespace, was)
    message = f"{namespace} floor {versions_text(was)} -> {versions_text(now)} (needs {token} from {libraries})"
    if symbols:
        message += ": " + short_list(symbols)
    why = _why(facts, namespace, was)
    if why:
        message += f" (why: {'; '.join(why)})"
    if settings.tolerates_floor(namespace, now):
        allowed = versions_text(settings.allow_floor[namespace])
        return Change(namespace, f"{message}; within diff.allow-floor {allowed}", symbols=symbols)
    return Change(namespace, message, kind="floor", hint=_fix(namespace, was, facts), symbols=symbols)


def raisers(facts: ElfFacts, namespace: str, was: Floor | None) -> tuple[str, ...]:
    """The symbols that need a version of `namespace` above `was`: newest version first, culprits first."""
    found: list[tuple[Floor, int, str]] = []
    for need, version in _above(facts, namespace, was):
        negated = tuple(-part for part in version)
        found += [(negated, culprits.rank(need.version, ref.name), ref.name) for ref in need.symbols if not ref.weak]
    return tuple(dict.fromkeys(name for *_order_key, name in sorted(found)))


def _above(facts: ElfFacts, namespace: str, was: Floor | None) -> Iterator[tuple[VersionNeed, Floor]]:
    """The strong needs of `namespace` above `was`, with their parsed version."""
    for need in facts.version_needs:
        parsed = split_version_token(need.version)
        if parsed is not None and not need.weak and parsed[0] == namespace and (was is None or parsed[1] > was):
            yield need, parsed[1]


def _why(facts: ElfFacts, namespace: str, was: Floor | None) -> list[str]:
    """The well-known reasons behind the raising symbols, newest version first."""
    needs = sorted(_above(facts, namespace, was), key=lambda pair: pair[1], reverse=True)
    reasons: list[str] = []
    for need, _version in needs:
        reasons += culprits.causes(need.version, (ref.name for ref in need.symbols if not ref.weak))
    return list(dict.fromkeys(reasons))


def _fix(namespace: str, was: Floor | None, facts: ElfFacts) -> str:
    if namespace != "GLIBC":
        return runtime_fix(facts, namespace)
    if was is None:
        return f"the old build needed no glibc: {static_fix(facts)}"
    return glibc_fix(facts, was)
