"""forbid-upx: refuse UPX-packed artifacts (`true` in the default preset).

UPX makes a dynamic program look static to `file` and `ldd`, yet at run time
its stub maps ld-linux and loads the same libraries, so it fails on an old
server exactly like the unpacked binary. Detection uses structure, not the
erasable "UPX!" marks; the message says what the payload really needs.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts, split_version_token
from linkgate.rules.base import PolicyRule, same, short_list


def check(facts: ElfFacts, forbid: bool, _site: Site) -> Iterator[Violation]:
    upx = facts.upx
    if not forbid or upx is None or not upx.packed:
        return
    yield Violation(
        subject="upx",
        message=f"UPX-packed ({_packing(facts)}); {_payload(facts)}",
        hint="ship the unpacked binary: it needs the same libraries, UPX does not make it static",
    )


def _packing(facts: ElfFacts) -> str:
    upx = facts.upx
    assert upx is not None
    known = [part for part in (upx.version, upx.method) if part]
    return ", ".join(known) if known else upx.evidence


def _payload(facts: ElfFacts) -> str:
    payload = facts.payload
    if payload is None:
        return "payload not read"
    loads = [payload.interpreter.rsplit("/", 1)[-1]] if payload.interpreter else []
    loads += list(payload.needed)
    text = f"payload is {payload.linkage.value}"
    if loads:
        text += ": " + short_list(loads, limit=4)
    newest = _newest_glibc(payload)
    return text + (f", needs {newest}" if newest else "")


def _newest_glibc(payload: ElfFacts) -> str | None:
    glibc = []
    for need in payload.version_needs:
        parsed = split_version_token(need.version)
        if parsed and parsed[0] == "GLIBC":
            glibc.append((parsed[1], need.version))
    return max(glibc)[1] if glibc else None


RULE = PolicyRule(id="forbid-upx", doc=__doc__ or "", schema=bool, compile=same, check=check, judges_payload=False)
