"""musl binds symbols by name: which imports no library the loader maps would export.

musl's loader ignores symbol versions; every undefined symbol is looked up by
name in the objects of the process. A glibc build imports glibc-only names
(`__register_atfork`, `gnu_get_libc_version`, `__rawmemchr`, `mallinfo`,
`__strdup`) that musl's libc does not export, and relocation fails with
"symbol not found". The symbols checked are the non-weak imports that carry a
version need: those are meant to come from a library (unversioned imports of a
shared library may come from the program that loads it, e.g. the Python API,
which no profile can know). A symbol is left undecided when the library it was
linked against is not found (that is its own finding) or has no `symbols:` list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from linkgate.core.findings import Violation
from linkgate.core.site import LoadContext, Site
from linkgate.elf.facts import ElfFacts
from linkgate.profiles.index import TargetIndex
from linkgate.rules.base import short_list
from linkgate.rules.remedies import Goal, Problem, fix
from linkgate.rules.target_search import Found


def unbound_symbols(
    facts: ElfFacts, libraries: Mapping[str, Found], profile: TargetIndex, site: Site, context: LoadContext
) -> Violation | None:
    """One violation naming the imports no mapped library exports, or None."""
    exports = _known_exports(libraries.values(), site, context)
    missing: list[str] = []
    for need in facts.version_needs:
        own = libraries.get(need.library)
        if own is None or _exports_of(own) is None:
            # Not found (reported as such), or a library whose exports the profile does not know.
            continue
        missing += [s.name for s in need.symbols if not s.weak and s.name not in exports]
    names = tuple(sorted(dict.fromkeys(missing)))
    if not names:
        return None
    return Violation(
        subject="symbol-binding",
        message=f"symbol not found: {short_list(names)} (musl binds every symbol by name and ignores versions; "
        f"no library mapped on {profile.name} exports {'it' if len(names) == 1 else 'them'}: "
        "'Error relocating ...: symbol not found')",
        hint=fix(Problem.MUSL, facts, Goal(facts.machine)),
        symbols=names,
    )


def _known_exports(found: Iterable[Found], site: Site, context: LoadContext) -> frozenset[str]:
    """Names exported by the libraries found, the objects up the load chain, and those mapped before."""
    known: set[str] = set()
    for library in found:
        known |= _exports_of(library) or frozenset()
    paths = [*(loader.path for loader in context.chain), *context.loaded.values()]
    for path in paths:
        shipped = site.library_at(path)
        if shipped is not None and shipped.exports is not None:
            known |= shipped.exports
    return frozenset(known)


def _exports_of(library: Found) -> frozenset[str] | None:
    if library.shipped is not None:
        return library.shipped.exports
    return library.defs.symbols
