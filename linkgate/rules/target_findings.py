"""The target rule's findings, worded as the loader words its failures."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import LoadContext, Site
from linkgate.elf.facts import ElfFacts, VersionNeed, split_version_token
from linkgate.profiles.index import TargetIndex
from linkgate.rules import culprits, remedies
from linkgate.rules.base import short_list
from linkgate.rules.remedies import glibc_fix, runtime_fix, static_fix
from linkgate.rules.target_search import Found, Step, requester, search_steps


def unreadable_payload(facts: ElfFacts, profile: TargetIndex) -> Violation | None:
    if facts.upx is None or not facts.upx.packed:
        return None
    return Violation(
        subject="upx",
        message=f"UPX-packed and the packed program could not be read: whether it runs on {profile.name} "
        "cannot be decided",
        hint="unpack it (`upx -d`) and check the real program, or ship it unpacked",
    )


def wrong_machine(facts: ElfFacts, profile: TargetIndex) -> Violation | None:
    if profile.runs_machine(facts.machine):
        return None
    return Violation(
        subject=facts.machine,
        message=f"built for {facts.machine}; {profile.name} runs {', '.join(profile.architectures)} "
        "(Exec format error)",
        hint="build for the target's architecture",
    )


def wrong_libc(facts: ElfFacts, profile: TargetIndex) -> Violation | None:
    """An Android (bionic) file runs on no glibc or musl system, whatever names it shares with musl."""
    if facts.libc != "bionic" or profile.libc_family == "bionic":
        return None
    return Violation(
        subject="Android",
        message=f"built for Android (bionic: libc.so of the NDK, Android's linker); {profile.name} has "
        f"{profile.libc_family or 'another C library'}",
        hint="judge Android libraries with `--policy android` (or android-<minSdk>), not a Linux target",
    )


def missing_interpreter(facts: ElfFacts, profile: TargetIndex) -> Violation | None:
    if facts.interpreter is None or facts.interpreter in profile.interpreters:
        return None
    return Violation(
        subject=facts.interpreter,
        message=f"interpreter {facts.interpreter} does not exist on {profile.name}: the kernel reports "
        "'No such file or directory' and nothing is loaded",
        hint="build against the target's C library (its loader is one of: "
        f"{short_list(profile.interpreters, limit=2)}), or make it static: {static_fix(facts)}",
    )


def missing_library(name: str, profile: TargetIndex, facts: ElfFacts, site: Site, context: LoadContext) -> Violation:
    steps = list(search_steps(requester(facts, site), context.chain, profile.libc_family))
    # Only the shipped ($ORIGIN) directories: an absolute one that points at the build machine is
    # the runpath rule's finding, not this one's.
    searched = list(dict.fromkeys(step.via for step in steps if "ORIGIN" in step.via))
    where = f"not on {profile.name}" + (f"; searched {', '.join(searched)}" if searched else "")
    chain = load_chain(facts, site, context)
    other = _other_class(name, steps, facts, site) if profile.libc_family != "musl" else None
    # glibc names the file of the other class it passed over rather than "cannot open".
    error = f"wrong ELF class: ELFCLASS{other}" if other else "cannot open shared object file"
    return Violation(
        subject=name,
        message=f"{name}: {error} ({chain + '; ' if chain else ''}{where})",
        hint=_missing_hint(name, site),
    )


def _other_class(name: str, steps: list[Step], facts: ElfFacts, site: Site) -> int | None:
    """The ELF class of a shipped file named `name` on the search path that the loader passed over."""
    for step in steps:
        shipped = site.library_at(f"{step.directory}/{name}")
        if shipped is not None and shipped.elf_class != facts.elf_class:
            return shipped.elf_class
    return None


def refused_library(name: str, library: Found, facts: ElfFacts, site: Site, context: LoadContext) -> Violation:
    """A file found for `name` that the loader will not map: the program does not start."""
    chain = load_chain(facts, site, context)
    where = f"shipped at {library.shipped_at}" + (f"; {chain}" if chain else "")
    return Violation(
        subject=name,
        message=f"{name}: {library.refused} ({where})",
        hint=_refused_hint(name, library),
    )


def _refused_hint(name: str, library: Found) -> str:
    refused = library.refused or ""
    if "executable" in refused:
        return f"ship the library built as a shared object (-shared), not a program, at {library.shipped_at}"
    if refused in ("file too short", "invalid ELF header", "Exec format error") or "ET_DYN" in refused:
        return f"ship the shared library itself at {library.shipped_at}: the file there is not one"
    return f"ship {name} built for the same machine, ELF class, byte order and OS ABI as the artifact"


def load_chain(facts: ElfFacts, site: Site, context: LoadContext) -> str:
    """`needed by libgfortran.so.5, loaded by _ufuncs.so via RPATH $ORIGIN/../scipy.libs`; "" when the
    artifact is loaded first (its own NEEDED, its own search path)."""
    if not context.chain:
        return ""
    me = posixpath.basename(site.path) if site.path else facts.soname or "the artifact"
    words = [f"needed by {me}"]
    via = context.via
    for loader in context.chain:
        words.append(f"loaded by {posixpath.basename(loader.path)} via {via}")
        via = loader.via
    return ", ".join(words)


def _missing_hint(name: str, site: Site) -> str:
    if name.startswith(("libc.musl-", "ld-musl-")):
        return (
            "the artifact is linked against musl, whose C library is the loader itself and cannot be shipped: "
            "build it for a glibc target (a manylinux image, `zig cc -target x86_64-linux-gnu.2.17`)"
        )
    if remedies.is_c_library(name):
        return remedies.c_library_fix(name)
    if site.in_wheel:
        return (
            f"repair the wheel: `auditwheel repair` copies {name} into PKG.libs/ and points RPATH at it "
            "(or link it statically)"
        )
    return (
        f"ship {name} with the artifact and point RUNPATH at it ($ORIGIN/...), link it statically, "
        "or install it on the target"
    )


def unknown_library(name: str, profile: TargetIndex) -> Violation:
    """A library an incomplete profile does not list: whether the target has it cannot be told.

    Advisory, so reported one severity lower than the rule's: a release gate warns (and
    fails with --strict) instead of refusing an artifact on a guess."""
    return Violation(
        subject=name,
        message=f"{name}: unknown on {profile.name} (its profile lists only some of the system's "
        "libraries; the loader may or may not find it)",
        hint="capture the real host's profile (`linkgate profile capture -o host.yml`, then "
        "`target: ./host.yml`), or ship the library with the artifact",
        advisory=True,
    )


def missing_versions(facts: ElfFacts, found: dict[str, Found], profile: TargetIndex) -> Iterator[Violation]:
    missing: dict[str, list[tuple[VersionNeed, Found]]] = {}
    for need in facts.version_needs:
        library = found.get(need.library)
        if library is None or need.weak or library.defs.unversioned or library.defs.defines(need.version):
            continue
        missing.setdefault(need.version, []).append((need, library))
    for token in sorted(missing, key=_newest_first):
        yield _version_violation(token, missing[token], profile, facts)


def _newest_first(token: str) -> tuple[int, tuple[int, ...], str]:
    parsed = split_version_token(token)
    return (0, tuple(-part for part in parsed[1]), token) if parsed else (1, (), token)


def _version_violation(
    token: str, needs: list[tuple[VersionNeed, Found]], profile: TargetIndex, facts: ElfFacts
) -> Violation:
    parsed = split_version_token(token)
    namespace = parsed[0] if parsed else token.split("_", 1)[0]
    parts = [f"{need.library} ({_provider(namespace, library, profile)})" for need, library in needs]
    symbols = _symbols(token, [need for need, _ in needs])
    message = f"version '{token}' not found in {'; '.join(parts)}"
    if symbols:
        message += ": " + short_list(symbols)
    why = culprits.causes(token, symbols)
    if why:
        message += f" (why: {'; '.join(why)})"
    shipped = [library.shipped_at for _, library in needs if library.shipped_at]
    hint = _shipped_hint(token, shipped) if shipped else _hint(namespace, profile, facts)
    return Violation(subject=token, message=message, hint=hint, symbols=symbols)


def _shipped_hint(token: str, shipped: list[str]) -> str:
    return (
        f"the library shipped at {shipped[0]} is older than the one the artifact was linked against: "
        f"ship one that defines {token} (the build's own copy)"
    )


def _provider(namespace: str, library: Found, profile: TargetIndex) -> str:
    """`debian-11: glibc 2.31, newest GLIBC_2.30`: the release, and what its library really defines
    (glibc 2.31 added no GLIBC_2.31 symbol on x86_64)."""
    words = [f"shipped {library.shipped_at}" if library.shipped_at else profile.name]
    release = profile.libc_version
    if namespace == "GLIBC" and release and not library.shipped_at:
        words[0] += f": glibc {release}"
    newest = library.defs.newest(namespace)
    return ", ".join(words + ([f"newest {newest}"] if newest else []))


def _symbols(token: str, needs: list[VersionNeed]) -> tuple[str, ...]:
    refs = sorted((s for n in needs for s in n.symbols), key=lambda s: (s.weak, culprits.rank(token, s.name)))
    return tuple(dict.fromkeys(s.name for s in refs))


def _hint(namespace: str, profile: TargetIndex, facts: ElfFacts) -> str:
    """The build-aware fix (rules/remedies.py), with the target's own glibc version in its commands."""
    glibc = split_version_token(f"GLIBC_{profile.libc_version}") if profile.libc_version else None
    release = glibc[1] if glibc else None
    if namespace == "GLIBC" and release:
        return glibc_fix(facts, release)
    if namespace == "GLIBC":
        return "build against the target's glibc, or link statically against musl"
    return runtime_fix(facts, namespace, release)
