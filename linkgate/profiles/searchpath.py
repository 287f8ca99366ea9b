"""The directories a target's dynamic loader searches, in its order.

ldconfig reads /etc/ld.so.conf (with `include` globs, relative to the including
file) into ld.so.cache, which the loader consults before its built-in system
directories: the multiarch ones on Debian and Ubuntu, /lib64 and /usr/lib64
on RHEL-like systems, then /lib and /usr/lib.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from linkgate.profiles.systemfs import SystemFs

LD_SO_CONF = "/etc/ld.so.conf"
_MAX_INCLUDE_DEPTH = 16
_LIB_ROOTS = ("/lib", "/usr/lib")
_FIXED_SYSTEM_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib")


def search_dirs(fs: SystemFs) -> list[str]:
    """ld.so.conf directories, then the system directories present; each once."""
    found = [*conf_dirs(fs, LD_SO_CONF, 0), *system_dirs(fs)]
    return [d for d in dict.fromkeys(found) if fs.is_dir(d)]


def system_dirs(fs: SystemFs) -> list[str]:
    """The directories the loader searches itself, with or without ld.so.cache."""
    return [*multiarch_dirs(fs), *_FIXED_SYSTEM_DIRS]


def multiarch_dirs(fs: SystemFs) -> list[str]:
    """/lib/<triplet> and /usr/lib/<triplet> (x86_64-linux-gnu, aarch64-linux-gnu, …)."""
    triplets = sorted({n for base in _LIB_ROOTS for n in fs.listdir(base) if "-linux-" in n})
    return [f"{base}/{t}" for t in triplets for base in _LIB_ROOTS if fs.is_dir(f"{base}/{t}")]


def conf_dirs(fs: SystemFs, path: str, depth: int) -> Iterator[str]:
    """Directories named by one ld.so.conf file and the files it includes."""
    text = fs.read_text(path) if depth <= _MAX_INCLUDE_DEPTH else None
    for line in (text or "").splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] == "hwcap":
            continue
        if words[0] == "include":
            for pattern in words[1:]:
                for included in fs.glob(posixpath.join(posixpath.dirname(path), pattern)):
                    yield from conf_dirs(fs, included, depth + 1)
            continue
        yield from _directories(" ".join(words))


def _directories(line: str) -> Iterator[str]:
    # ldconfig accepts several directories per line and the old `dir=TYPE` suffix.
    for word in re.split(r"[\s:,]+", line):
        directory = word.split("=", 1)[0].rstrip("/")
        if directory.startswith("/"):
            yield directory
