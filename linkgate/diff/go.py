"""diff-go: how a Go program was built changed (its Go build info).

Worse (`go-cgo`): cgo newly enabled (CGO_ENABLED 0 -> 1): the program now
calls C and links against the build image's C library, the usual way a Go
binary goes from "runs anywhere" to "needs GLIBC_2.34". Noted, as the likely
cause of other findings: `-tags` or `-ldflags` changed (`-tags musl` and
`-extldflags "-static"` dropped is a static musl build turned glibc dynamic),
the Go version changed, cgo disabled. `-ldflags` is recorded only in builds
without `-trimpath`. UPX-packed files are judged by their payload.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change
from linkgate.elf.facts import GoBuildInfo
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules.base import Rule
from linkgate.rules.remedies import GO_MUSL, GO_NO_CGO

RULE = Rule("diff-go", __doc__ or "")
_FLAGS = ("-tags", "-ldflags")


def compare(old: Build, new: Build, _settings: CompiledDiff) -> Iterator[Change]:
    before, after = old.judged.go, new.judged.go
    if before is None or after is None:
        return
    yield from _cgo(before, after)
    for flag in _FLAGS:
        was, now = before.setting(flag), after.setting(flag)
        if was != now:
            yield Change(flag, f"built with {flag} {_quoted(was)} -> {_quoted(now)}")
    if before.known and after.known and before.version != after.version:
        yield Change("go-version", f"Go {before.version} -> {after.version}")


def _cgo(before: GoBuildInfo, after: GoBuildInfo) -> Iterator[Change]:
    was, now = before.cgo_enabled, after.cgo_enabled
    if was is False and now is True:
        yield Change(
            "cgo",
            "cgo newly enabled (CGO_ENABLED 0 -> 1): links against the build image's C library",
            kind="go-cgo",
            hint=f"`{GO_NO_CGO}` as before, or keep cgo and link statically: `{GO_MUSL}`",
        )
    elif was is True and now is False:
        yield Change("cgo", "cgo disabled (CGO_ENABLED 1 -> 0)")


def _quoted(value: str | None) -> str:
    return "none" if value is None else repr(value)
