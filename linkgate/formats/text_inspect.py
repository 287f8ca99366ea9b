"""Readable `inspect` output, from the same dictionaries the JSON output prints."""

from __future__ import annotations

from typing import Any


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
        for version, symbols in versions.items():
            shown = ", ".join(symbols[:4]) + (f", +{len(symbols) - 4} more" if len(symbols) > 4 else "")
            lines.append(f"  needs {library} {version}" + (f": {shown}" if shown else ""))
    if item["upx"]:
        upx = item["upx"]
        lines.append(f"  upx: packed={upx['packed']} ({upx['evidence']})")
    if item["executable_stack"]:
        lines.append("  executable stack")
    return "\n".join(lines) + "\n\n"
