"""Shared logic of max-glibc and max-versions: compare version needs to per-namespace limits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from linkgate.core.findings import Violation
from linkgate.core.records import field, record
from linkgate.elf.facts import ElfFacts, SymbolRef, VersionNeed, split_version_token
from linkgate.rules import culprits
from linkgate.rules.base import short_list


@record
class Limits:
    """Highest allowed version per namespace, plus non-numeric tokens named as allowed."""

    maxima: Mapping[str, tuple[int, ...]]
    allowed_tokens: frozenset[str] = frozenset()
    # token -> why it breaks the limits (None: it does not), filled on use: a tree repeats the same few hundred.
    _judged: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)
    # (token, the needs behind it) -> its violation, filled on use: a tree's failing files break the
    # limits through a few hundred distinct needs (1,670 needs, 274 distinct on a Debian host).
    _violations: dict[tuple[str, tuple[VersionNeed, ...]], Violation] = field(
        default_factory=dict, compare=False, repr=False
    )

    def excess(self, token: str) -> str | None:
        """Why a need of `token` breaks these limits, or None when it is within them."""
        try:
            return self._judged[token]
        except KeyError:
            reason = self._judged[token] = _excess(token, self)
            return reason

    def violation(self, token: str, reason: str, needs: list[VersionNeed]) -> Violation:
        """The violation of needing `token`, which breaks these limits for `reason`, through `needs`."""
        key = (token, tuple(needs))  # the reason follows from the token
        found = self._violations.get(key)
        if found is None:
            found = self._violations[key] = _violation(token, reason, needs)
        return found


def compile_limits(maxima: Mapping[str, str], allowed_tokens: frozenset[str]) -> Limits:
    """Policy text -> Limits: `{"GLIBC": "2.31"}` -> {"GLIBC": (2, 31)}; shapes were validated."""
    parsed = {ns: tuple(int(part) for part in text.split(".")) for ns, text in maxima.items()}
    return Limits(parsed, allowed_tokens)


def version_violations(facts: ElfFacts, limits: Limits) -> Iterator[Violation]:
    """One violation per offending version token, naming the libraries and symbols behind it."""
    # Judged first, grouped and sorted after: nearly every need of a tree is within the limits.
    grouped: dict[str, tuple[str, list[VersionNeed]]] = {}
    for need in facts.version_needs:
        reason = limits.excess(need.version)
        if reason is not None:
            grouped.setdefault(need.version, (reason, []))[1].append(need)
    for token in sorted(grouped, key=_newest_first):
        reason, needs = grouped[token]
        yield limits.violation(token, reason, needs)


def _newest_first(token: str) -> tuple[int, tuple[int, ...]]:
    """Numeric tokens newest first (the one to fix first), then non-numeric ones."""
    parsed = split_version_token(token)
    return (0, tuple(-part for part in parsed[1])) if parsed else (1, ())


def exceeds(token: str, limits: Limits) -> bool:
    """Whether a need of `token` breaks `limits`."""
    return limits.excess(token) is not None


def rejects_need(limits: Limits, library: str, version: str) -> bool:
    """Rule.rejects_version for limit rules: a namespace is judged whichever library defines it."""
    del library
    return exceeds(version, limits)


def _excess(token: str, limits: Limits) -> str | None:
    """Why `token` breaks the limits, or None when it is within them."""
    parsed = split_version_token(token)
    if parsed is None:
        namespace = token.split("_", 1)[0]
        if namespace in limits.maxima and token not in limits.allowed_tokens:
            return "non-numeric version token; allow it by name in allowed-tokens"
        return None
    namespace, version = parsed
    maximum = limits.maxima.get(namespace)
    if maximum is not None and version > maximum:
        return "max " + ".".join(map(str, maximum))
    return None


def _violation(token: str, reason: str, needs: list[VersionNeed]) -> Violation:
    libraries = ", ".join(dict.fromkeys(n.library for n in needs))
    refs = [(ref, need.weak) for need in needs for ref in need.symbols]
    symbols = _strongest_first(token, refs)
    message = f"needs {token} ({reason}) from {libraries}"
    if symbols:
        message += ": " + short_list(symbols)
    why = culprits.causes(token, (ref.name for ref, _weak_need in refs))
    if why:
        message += f" (why: {'; '.join(why)})"
    advisory = all(n.weak for n in needs)
    if advisory:
        message += " [weak version reference: the loader only warns]"
    return Violation(subject=token, message=message, symbols=symbols, advisory=advisory)


def _strongest_first(token: str, refs: list[tuple[SymbolRef, bool]]) -> tuple[str, ...]:
    """Strong references before weak ones, well-known culprits first, since they explain.

    Whether the loader insists on a version is decided by the version need (its
    VER_FLG_WEAK), not by the symbol's binding: a weak symbol under a strong need
    still fails the load when the version is missing, so it is not marked "(weak)"
    alone, which would invite a wrong waiver.
    """
    ordered = sorted(refs, key=lambda pair: (pair[0].weak, culprits.rank(token, pair[0].name)))
    return tuple(dict.fromkeys(ref.name + _weak_mark(ref, weak_need) for ref, weak_need in ordered))


def _weak_mark(ref: SymbolRef, weak_need: bool) -> str:
    if weak_need:
        return " (weak)"
    return " (weak symbol; version still required)" if ref.weak else ""
