"""target: the artifact runs on the named system, as that system's dynamic loader decides.

`target: debian-11` names a shipped profile (`linkgate profile list` shows them;
RHEL, Rocky, Ubuntu, Amazon Linux, Alpine and the manylinux tags too);
`target: ./prod-host.yml` a profile captured on the real host with
`linkgate profile capture`. Checked in the loader's order, each failure named
as the loader would name it:
1. the target's kernel runs the artifact's machine;
2. the interpreter (PT_INTERP) exists there. Without it the kernel says "No
   such file or directory" and nothing else is loaded, so nothing else is reported;
3. every NEEDED library is found, in the loader's search order: DT_RPATH of
   the artifact and of every object up the chain that loaded it (glibc: unless
   the artifact has DT_RUNPATH), its DT_RUNPATH, then the target's libraries;
   `$ORIGIN` is the directory of the object naming it, among the checked files.
   A library found among the checked files is itself judged, in each load chain
   that reaches it; a checked file nothing loads is judged as loaded first. A
   shipped file of another ELF class or machine is passed over; one the loader
   refuses fails as it says (`cannot dynamically load executable`, `ELF file OS
   ABI invalid`; docs/targets.md);
4. glibc targets: every (library, version) need is defined by the library that
   provides it: `version 'GLIBC_2.34' not found`. musl targets (musllinux_1_1,
   musllinux_1_2, alpine) ignore versions and bind each symbol by name: every
   non-weak symbol the artifact imports under a version must be exported by a
   library the loader maps (`symbol not found`), e.g. glibc-only
   `__register_atfork`, `gnu_get_libc_version`, `__rawmemchr`, `mallinfo`.
5. the target's machines: its CPU baseline, kernel and page sizes, judged as
   `max-isa`, `min-kernel` and `page-size` judge them (`CPU ISA level is lower
   than required`, `FATAL: kernel too old`, `ELF load command ... not
   page-aligned`); every one that refuses is named.
The RHEL, Ubuntu and Amazon Linux profiles list only glibc, libstdc++, libgcc_s
and zlib (`complete: false`): a library they do not list is reported as unknown,
one severity lower (a warning, which fails only with --strict), since the
profile cannot tell; capture the real host to decide it. Debian's captured
profiles, Alpine's base image and the manylinux whitelists report it missing.
Accepted, as the loader accepts them: weak version references, needs against a
library that defines no versions at all (the loader only warns "no version
information available"). Not seen: LD_LIBRARY_PATH, libraries opened with
dlopen(), and on glibc a symbol missing from a library whose version exists.
docs/targets.md describes the loader model. UPX-packed files are judged
by their payload; when the payload cannot be read the verdict fails closed.

The fix names the target's own glibc and is chosen from how the artifact was
built: a Go program with cgo gets `go build -tags netgo,osusergo` (when only
net/os/user call C), musl static, `CC="zig cc -target x86_64-linux-gnu.2.31"
go build` and `CGO_ENABLED=0` for debian-11; a Rust program (rustc in
`.comment`) `cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.31`
or the musl target; C/C++ an image with that glibc, `zig cc`, or musl static.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from linkgate.core.findings import Violation
from linkgate.core.records import record
from linkgate.core.site import LoadContext, Site
from linkgate.elf.facts import ElfFacts
from linkgate.elf.floors import with_go_build_info
from linkgate.profiles.index import TargetIndex
from linkgate.rules import target_binding as binding
from linkgate.rules import target_findings as failure
from linkgate.rules.base import CompileContext, PolicyRule
from linkgate.rules.schema import Checked, keywords
from linkgate.rules.target_machine import machine_violations
from linkgate.rules.target_search import Found, find_library


@record
class Target:
    """The compiled setting: the profile as named in the policy (None if it was not loaded)."""

    spec: str
    profile: TargetIndex | None


def check(facts: ElfFacts, target: Target, site: Site) -> Iterator[Violation]:
    if target.profile is None:
        yield Violation(subject=target.spec, message=f"target profile {target.spec} was not loaded")
        return
    yield from judge(facts, target.profile, site)


def judge(facts: ElfFacts, profile: TargetIndex, site: Site) -> Iterator[Violation]:
    """Everything that stops the artifact on `profile`, in the loader's order.

    A library other checked files load is judged in each way they load it (it
    inherits their search path); each failure is reported once, in the first way
    it occurs, naming that load chain.
    """
    blocker = failure.unreadable_payload(facts, profile) or failure.wrong_machine(facts, profile)
    blocker = blocker or failure.wrong_libc(facts, profile)
    blocker = blocker or failure.missing_interpreter(facts, profile)
    if blocker is not None:
        yield blocker
        return
    reported: set[str] = set()
    for context in site.contexts_for(profile.libc_family):
        for violation in _judge_loaded(facts, profile, site, context):
            if violation.subject not in reported:
                reported.add(violation.subject)
                yield violation
    yield from machine_violations(facts, profile)


def _judge_loaded(facts: ElfFacts, profile: TargetIndex, site: Site, context: LoadContext) -> Iterator[Violation]:
    """One way the loader maps the artifact: its libraries, their versions, and (musl) its symbols."""
    libraries: dict[str, Found] = {}
    for name in dict.fromkeys((*facts.needed, *(n.library for n in facts.version_needs))):
        library = find_library(facts, name, profile, site, context)
        if library is not None and library.refused is not None:
            yield failure.refused_library(name, library, facts, site, context)
        elif library is not None:
            libraries[name] = library
        elif name in facts.needed and profile.complete:
            yield failure.missing_library(name, profile, facts, site, context)
        elif name in facts.needed:
            yield failure.unknown_library(name, profile)
    if profile.checks_versions:
        yield from failure.missing_versions(facts, libraries, profile)
    else:
        unbound = binding.unbound_symbols(facts, libraries, profile, site, context)
        if unbound is not None:
            yield unbound


@record
class Verdict:
    """What `inspect` says of one profile: what the loader would name, and what the profile cannot tell."""

    missing: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def runs(self) -> bool | None:
        """True, False, or None when nothing is known missing but some library is unknown."""
        if self.missing:
            return False
        return None if self.unknown else True


def verdict(facts: ElfFacts, profile: TargetIndex, site: Site) -> Verdict:
    """judge()'s findings split: advisory ones are the libraries an incomplete profile does not list."""
    found = list(judge(facts, profile, site))
    return Verdict(
        missing=tuple(v.subject for v in found if not v.advisory),
        unknown=tuple(v.subject for v in found if v.advisory),
    )


def rejects_need(setting: Target, library: str, version: str) -> bool:
    """Symbols are joined for needs the target's own library lacks (shipped ones are not known here),
    and for every need on a musl target, which binds each symbol by name."""
    profile = setting.profile
    if profile is None or not profile.checks_versions:
        return True
    return not any(defs.unversioned or defs.defines(version) for defs in profile.named.get(library, ()))


def _compile(spec: str, context: CompileContext) -> Target:
    return Target(spec, context.profiles.get(spec))


def _profile_spec(spec: str) -> str:
    if not spec:
        raise ValueError("name a shipped profile (debian-11) or a profile file (./prod-host.yml)")
    if "\x00" in spec:  # no file name holds one, and Python refuses such a path with ValueError
        raise ValueError("a file name cannot contain a NUL character")
    return spec


RULE = PolicyRule(
    id="target",
    doc=__doc__ or "",
    schema=Annotated[str, Checked(_profile_spec, json_schema=keywords(minLength=1))],
    compile=_compile,
    check=check,
    rejects_version=rejects_need,
    reads=(with_go_build_info,),
)
