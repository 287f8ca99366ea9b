"""Readable `inspect` output, from the same dictionaries the JSON output prints."""

from __future__ import annotations

import json
from typing import Any

from linkgate.elf.facts import split_version_token
from linkgate.formats.text_compat import compat_lines


def render(items: list[dict[str, Any]]) -> str:
    return "".join(_artifact(item) for item in items)


def _artifact(item: dict[str, Any]) -> str:
    if "error" in item:
        return f"{item['path']}\n  error: {item['error']}\n\n"
    lines = [item["path"]]
    lines.append(
        f"  {item['machine']} ELF{item['class']} {item['byte_order']}-endian {item['kind']}, "
        f"{item['linkage']}" + (f", {item['libc']}" if item["libc"] else "")
    )
    for key in ("interpreter", "soname"):
        if item[key]:
            lines.append(f"  {key}: {item[key]}")
    for key in ("needed", "rpath", "runpath"):
        if item[key]:
            lines.append(f"  {key}: {', '.join(item[key])}")
    for library, versions in item["version_symbols"].items():
        for version in sorted(versions, key=version_order):
            symbols = versions[version]
            shown = ", ".join(symbols[:4]) + (f", +{len(symbols) - 4} more" if len(symbols) > 4 else "")
            lines.append(f"  needs {library} {version}" + (f": {shown}" if shown else ""))
    if item["upx"]:
        upx = item["upx"]
        lines.append(f"  upx: packed={upx['packed']} ({upx['evidence']})")
    if item.get("go"):
        lines.extend(_go(item["go"]))
    if item.get("compiler"):
        lines.append(f"  compiler: {'; '.join(item['compiler'])}")
    if item["executable_stack"]:
        lines.append("  executable stack")
    if "hardening" in item:
        lines.append(f"  hardening: {hardening_summary(item['hardening'], item['kind'])}")
    lines.extend(f"  floors: {floors}" for floors in (floors_summary(item),) if floors)
    lines.extend(_android_lines(item))
    lines.extend(compat_lines(item.get("compatibility") or {}))
    return "\n".join(lines) + "\n\n"


def floors_summary(item: dict[str, Any]) -> str:
    """`x86-64-v3 (GNU property note), kernel >= 3.2.0 (abi-tag, checked at start-up), pages <= 4096`."""
    parts = []
    isa, kernel, alignment = item.get("isa"), item.get("kernel_floor"), item.get("load_alignment")
    if isa and isa["level"]:
        parts.append(f"needs {isa['level']} ({isa['source']})")
    if isa and isa["features"]:
        parts.append("features " + "+".join(f.upper() for f in isa["features"]))
    if kernel:
        checked = ", checked at start-up" if kernel["startup_check"] else ""
        parts.append(f"kernel >= {kernel['version']} ({kernel['source']}{checked})")
    if alignment and alignment["max_page_size"]:
        parts.append(f"pages <= {alignment['max_page_size']} bytes (smallest p_align {alignment['smallest']:#x})")
    return ", ".join(parts)


def _android_lines(item: dict[str, Any]) -> list[str]:
    return [android_line(item["android"])] if item.get("android") else []


def android_line(android: dict[str, Any]) -> str:
    """`android: arm64-v8a, built for API 21, loads from API 28 (getrandom 28), 16 KB pages: no`."""
    parts = [str(android["abi"] or "unknown ABI")]
    if android["built_for"] is not None:
        parts.append(f"built for API {android['built_for']}")
    needs = android["needs_api"]
    shown = ", ".join(f"{name} {level}" for name, level in list(needs.items())[-3:])
    parts.append(f"loads from API {android['loads_from']}" + (f" ({shown})" if shown else ""))
    if android["page_size_16k"] is not None:
        parts.append(f"16 KB pages: {'yes' if android['page_size_16k'] else 'no'}")
    return "  android: " + ", ".join(parts)


def version_order(token: str) -> tuple[int, str, tuple[int, ...], str]:
    """GLIBC_2.3 before GLIBC_2.14 (numerically, oldest first), by namespace; non-numeric tokens last."""
    parsed = split_version_token(token)
    return (0, parsed[0], parsed[1], token) if parsed else (1, "", (), token)


def hardening_summary(hardening: dict[str, Any] | None, kind: str) -> str:
    """One line: `PIE, full RELRO, NX, canary, fortified 12/30, IBT+SHSTK`."""
    if hardening is None:
        return "unknown (the packed program could not be unpacked)"
    parts = []
    if hardening["pie"] or kind != "shared-library":  # a library is always position-independent
        parts.append("PIE" if hardening["pie"] else "no PIE")
    parts.append({"full": "full RELRO", "partial": "partial RELRO"}.get(hardening["relro"], "no RELRO"))
    parts.append("NX" if hardening["nx"] else "no NX")
    parts.append({True: "canary", False: "no canary"}.get(hardening["canary"], "canary unknown"))
    parts.append(_fortify(hardening))
    parts.extend(_cet(hardening["cet"]))
    if hardening["stack_clash"]:
        parts.append("stack clash protection")
    if hardening["textrel"]:
        parts.append("TEXTREL")
    parts.extend(f"RWX segment #{s['index']}" for s in hardening["rwx_segments"])
    return ", ".join(parts)


def _fortify(hardening: dict[str, Any]) -> str:
    fortified, fortifiable = hardening["fortified_count"], hardening["fortifiable_count"]
    if fortifiable is None:
        return "fortify unknown"
    if fortifiable == 0:
        return "nothing to fortify"
    return f"{'fortified' if fortified else 'not fortified'} {fortified}/{fortifiable}"


def _cet(cet: dict[str, bool] | None) -> list[str]:
    if cet is None:  # not an x86 machine
        return []
    features = [name.upper() for name in ("ibt", "shstk") if cet[name]]
    return ["+".join(features) if features else "no CET"]


# The build settings that say how a Go binary links, in `go version -m` spelling.
_GO_SETTINGS = ("CGO_ENABLED", "-tags", "-ldflags", "-buildmode", "GOOS", "GOARCH", "GOAMD64")


def _go(go: dict[str, Any]) -> list[str]:
    if go["layout"] == "unknown":
        return [f"  go: Go build info: unknown layout ({go['problem']})"]
    settings = go["settings"]
    shown = " ".join(f"{key}={_quoted(settings[key])}" for key in _GO_SETTINGS if key in settings)
    where = f" (read from the runtime's strings: {go['problem']})" if go["layout"] == "runtime" else ""
    head = f"  go: {go['version']}" + (f" {go['path']}" if go["path"] else "") + (f", {shown}" if shown else "")
    lines = [head + where]
    if go["modules"]:
        modules = [f"{m['path']} {m['version']}" for m in go["modules"]]
        more = f", +{len(modules) - 4} more" if len(modules) > 4 else ""
        lines.append(f"  go modules: {', '.join(modules[:4])}{more}")
    if go["cgo_packages"]:
        lines.append(f"  cgo packages: {', '.join(go['cgo_packages'])}")
    return lines


def _quoted(value: str) -> str:
    """Quoted like `go version -m` does (JSON's escapes agree with Go's for these characters)."""
    return json.dumps(value) if any(c in value for c in ' \t"`') else value
