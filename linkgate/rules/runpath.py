"""runpath: RPATH/RUNPATH entries must be `$ORIGIN`-relative or system library directories.

`runpath: true` judges every DT_RPATH and DT_RUNPATH entry; `runpath: {allow:
["/opt/acme/lib*"]}` also accepts absolute directories matching those globs.
The system directories always accepted are /lib, /lib64, /lib32, /libx32,
/usr/lib, /usr/lib64, /usr/lib32, /usr/libx32, /usr/local/lib and
/usr/local/lib64, with everything below them; /opt is not, since build trees
live there too (`/opt/buildroot`): list your vendor directory in `allow`.

Each offending entry is its own finding (subject = the entry): an absolute
directory of the build machine (`/home/ci/...`, `/build/...`, `/root/...`),
a world-writable one (`/tmp`, `/var/tmp`, `/dev/shm`: anyone on the server can
plant a library there), a relative one or an empty one (both are resolved
against the process's working directory, not the file). Entries are judged
after `..` is resolved, so `/usr/lib/../../home/me` is not a system directory.

The fix: link with `-Wl,-rpath,'$ORIGIN/../lib'` (the libraries beside the
file, wherever it is installed), or rewrite the built file with `patchelf
--set-rpath '$ORIGIN/../lib' FILE` (`patchelf --remove-rpath FILE` when the
libraries are in the system directories).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Annotated, Literal

from linkgate.core.findings import Violation
from linkgate.core.records import record
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts
from linkgate.rules.base import CompileContext, PolicyRule
from linkgate.rules.globs import matches_any
from linkgate.rules.schema import Checked, Globs

SYSTEM_DIRS = (
    "/lib", "/lib64", "/lib32", "/libx32",
    "/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/usr/local/lib", "/usr/local/lib64",
)  # fmt: skip
DEFAULT_ALLOW = tuple(pattern for d in SYSTEM_DIRS for pattern in (d, f"{d}/*"))
# Directories anyone may write to: named here to be refused, never used.
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108
ORIGIN = ("$ORIGIN", "${ORIGIN}")
FIX = (
    "link with `-Wl,-rpath,'$ORIGIN/../lib'` (relative to the file), or rewrite it: "
    "`patchelf --set-rpath '$ORIGIN/../lib' FILE` (`patchelf --remove-rpath FILE` if the system directories suffice)"
)


def _check_shape(value: object) -> object:
    """A clear error for the two spellings, instead of one per branch of the union."""
    if isinstance(value, bool) or (isinstance(value, dict) and set(value) <= {"allow"}):
        return value
    raise ValueError(f"{str(value)[:60]!r}: write `runpath: true`, `false` or `{{allow: [globs]}}`")


Settings = Annotated[dict[Literal["allow"], Globs] | bool, Checked(_check_shape, before=True)]


@record
class Allowed:
    """The absolute directories (globs) accepted besides `$ORIGIN`-relative entries."""

    patterns: tuple[str, ...] = DEFAULT_ALLOW


def _compile(value: bool | dict[str, tuple[str, ...]], context: CompileContext) -> Allowed | None:
    del context
    if value is False:
        return None
    extra = value.get("allow", ()) if isinstance(value, dict) else ()
    return Allowed(DEFAULT_ALLOW + tuple(p.rstrip("/") or "/" for p in extra))


def check(facts: ElfFacts, allowed: Allowed | None, _site: Site) -> Iterator[Violation]:
    if allowed is None:
        return
    for tag, entries in (("RPATH", facts.rpath), ("RUNPATH", facts.runpath)):
        for entry in dict.fromkeys(entries):
            problem = _problem(entry, allowed)
            if problem is not None:
                yield Violation(subject=entry or "(empty)", message=f"{tag} entry {entry!r} {problem}", hint=FIX)


def _problem(entry: str, allowed: Allowed) -> str | None:
    """Why the loader's search through `entry` is unsafe or unportable; None when it is fine."""
    if entry == "":
        return "is empty: the loader searches the working directory"
    if any(entry == token or entry.startswith(token + "/") for token in ORIGIN):
        return None
    if not entry.startswith("/"):
        return "is relative: it is resolved against the working directory, not the file's location"
    path = posixpath.normpath(entry)
    path = "/" + path.lstrip("/")  # normpath keeps a leading "//"
    if any(path == d or path.startswith(d + "/") for d in WORLD_WRITABLE):
        return "is world-writable: anyone on the server can plant a library there"
    if matches_any(path, allowed.patterns):
        return None
    return "is an absolute directory outside the system library directories (the build machine's?)"


RULE = PolicyRule(id="runpath", doc=__doc__ or "", schema=Settings, compile=_compile, check=check)
