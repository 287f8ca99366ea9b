"""What `inspect` says of an Android library: its ABI, the API level it was built for and the lowest
it loads at, and whether 16 KiB page devices load it (docs/android.md)."""

from __future__ import annotations

from typing import Any

from linkgate.elf.facts import ElfFacts
from linkgate.profiles.android import ABI_OF_MACHINE, SIXTEEN_KB_ABIS, load_table


def android_summary(facts: ElfFacts) -> dict[str, Any]:
    """{"abi", "built_for" (its note), "loads_from" (the API level its symbols and libraries need),
    "needs_api": {symbol or library: level above the oldest}, "page_size_16k": true/false/null (not required)}."""
    android = facts.android
    abi = ABI_OF_MACHINE.get(facts.machine)
    table = load_table()
    needs: dict[str, int] = {}
    for name, weak in android.imports if android is not None and abi is not None else ():
        found = table.symbol_level(abi or "", name, facts.needed)
        if found is not None and found[1] > table.oldest and not weak:
            needs[name] = found[1]
    for library in facts.needed:
        level = table.libraries.get(library)
        if level is not None and level > table.oldest:
            needs[library] = level
    aligned = None
    if android is not None and abi in SIXTEEN_KB_ABIS:
        aligned = all(load.align >= 16384 for load in android.loads)
    return {
        "abi": abi,
        "built_for": android.api_level if android is not None else None,
        "loads_from": max([table.oldest, *needs.values()]),
        "needs_api": dict(sorted(needs.items(), key=lambda item: (item[1], item[0]))),
        "page_size_16k": aligned,
    }
