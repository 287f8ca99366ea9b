"""Shared by several test modules (moved from test_hardening.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import require_tool

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A char array: -fstack-protector-strong guards it; strcpy into it is fortifiable. */
static char *copy(const char *text) {
    char buffer[64];
    strcpy(buffer, text);
    return strdup(buffer);
}

/* A frame larger than a page, and a variable one: -fstack-clash-protection probes them. */
static int frames(int n) {
    char pages[3 * 4096];
    char dynamic[n];
    memset(pages, n, sizeof pages);
    memset(dynamic, n, (size_t)n);
    return pages[n % (int)sizeof pages] + dynamic[n / 2];
}

int main(int argc, char **argv) {
    char *text = copy(argc > 1 ? argv[1] : "linkgate");
    printf("%s %d\n", text, frames(argc + 4000));
    free(text);
    return 0;
}
"""


LIBRARY = "int counter;\nint bump(void) { return ++counter; }\n"


RWX = '__asm__(".section .wxcode,\\"awx\\",@progbits\\n.byte 0xc3\\n.previous");\nint main(void) { return 0; }\n'


BASE = (
    "-O2", "-fno-stack-protector", "-U_FORTIFY_SOURCE", "-fcf-protection=none", "-fno-stack-clash-protection",
    "-Wl,-z,noexecstack",
)  # fmt: skip


CET_LIBRARY = ("-shared", "-fPIC", "-Wl,-soname,libcet.so", "-nostartfiles")


BUILDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "pie": ("gcc", PROGRAM, ("-fPIE", "-pie")),
    "nopie": ("gcc", PROGRAM, ("-fno-pie", "-no-pie")),
    "relro-now": ("gcc", PROGRAM, ("-Wl,-z,relro,-z,now",)),
    "relro-lazy": ("gcc", PROGRAM, ("-Wl,-z,relro,-z,lazy",)),
    "norelro": ("gcc", PROGRAM, ("-Wl,-z,norelro,-z,lazy",)),
    "execstack": ("gcc", PROGRAM, ("-Wl,-z,execstack",)),
    "noexecstack": ("gcc", PROGRAM, ("-Wl,-z,noexecstack",)),
    "ssp": ("gcc", PROGRAM, ("-fstack-protector-strong",)),
    "nossp": ("gcc", PROGRAM, ("-fno-stack-protector",)),
    "fortify": ("gcc", PROGRAM, ("-D_FORTIFY_SOURCE=2",)),
    "nofortify": ("gcc", PROGRAM, ("-U_FORTIFY_SOURCE",)),
    "clash": ("gcc", PROGRAM, ("-fstack-clash-protection",)),
    "noclash": ("gcc", PROGRAM, ("-fno-stack-clash-protection",)),
    "rwx": ("gcc", RWX, ()),
    "static": ("gcc", PROGRAM, ("-static", "-fstack-protector-strong")),
    # Debian's crt1.o carries no CET property, and the linker ANDs the property over
    # every input object: only a library linked without start files shows the flag's effect.
    "cet-full.so": (
        "gcc",
        LIBRARY,
        (*CET_LIBRARY, "-fcf-protection=full"),
    ),
    "cet-branch.so": (
        "gcc",
        LIBRARY,
        (*CET_LIBRARY, "-fcf-protection=branch"),
    ),
    "cet-return.so": (
        "gcc",
        LIBRARY,
        (*CET_LIBRARY, "-fcf-protection=return"),
    ),
    "cet-none.so": (
        "gcc",
        LIBRARY,
        (*CET_LIBRARY, "-fcf-protection=none"),
    ),
    # Absolute addresses in code (large model, no PIC) need text relocations; -z notext allows them.
    "textrel.so": (
        "gcc",
        LIBRARY,
        ("-shared", "-Wl,-soname,libtextrel.so", "-fno-PIC", "-mcmodel=large", "-Wl,-z,notext"),
    ),
    "notextrel.so": ("gcc", LIBRARY, ("-shared", "-Wl,-soname,libtextrel.so", "-fPIC")),
    "musl-ssp": ("musl-gcc", PROGRAM, ("-fstack-protector-strong", "-D_FORTIFY_SOURCE=2")),
    "musl-nossp": ("musl-gcc", PROGRAM, ("-fno-stack-protector",)),
    "musl-static": ("musl-gcc", PROGRAM, ("-static", "-fstack-protector-strong")),
}


def build_variants(directory: Path) -> dict[str, Path]:
    """Every build of BUILDS in `directory` (also used by the agreement test)."""
    for tool in ("gcc", "musl-gcc"):
        require_tool(tool)
    paths = {}
    for name, (tool, source, flags) in BUILDS.items():
        src = directory / f"{name}.c"
        src.write_text(source)
        out = directory / name
        subprocess.run([tool, *BASE, *flags, "-o", str(out), str(src)], check=True, capture_output=True)
        paths[name] = out
    return paths
