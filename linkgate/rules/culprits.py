"""Why a binary needs a symbol version: the symbols that usually carry it, and the reason.

Facts from docs/glibc.md (glibc) plus two classic libstdc++ ones,
each checked against the libraries' own version definitions
(tests/rules/test_explain_culprits.py reads the machine's glibc 2.36 and libstdc++,
and Debian 13's glibc 2.41). A pattern with `*` is a glob: every symbol it
matches at that version moved or appeared for the stated reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from fnmatch import fnmatchcase

from linkgate.core.records import record


@record
class Culprit:
    """Symbols that need `version` for one well-known reason."""

    version: str
    patterns: tuple[str, ...]
    cause: str
    library: str = "libc.so.6"

    def matches(self, version: str, symbol: str) -> str | None:
        """The pattern `symbol`@`version` matches, or None."""
        if version != self.version:
            return None
        return next((p for p in self.patterns if fnmatchcase(symbol, p)), None)


_MERGED = "merged into libc in 2.34"

CULPRITS: tuple[Culprit, ...] = (
    Culprit("GLIBC_2.34", ("__libc_start_main",), "every executable linked against glibc >= 2.34"),
    Culprit("GLIBC_2.34", ("pthread_*", "__pthread_*", "sem_*"), f"libpthread {_MERGED}"),
    Culprit("GLIBC_2.34", ("dlopen", "dlsym", "dlclose", "dlerror", "dladdr", "dlvsym"), f"libdl {_MERGED}"),
    Culprit("GLIBC_2.34", ("timer_*", "shm_open", "shm_unlink", "mq_*", "aio_*"), f"librt {_MERGED}"),
    Culprit("GLIBC_2.34", ("res_*",), f"libresolv's res_* functions {_MERGED}"),
    Culprit(
        "GLIBC_2.38", ("__isoc23_*",),
        "C23 variants of strtol/scanf that glibc >= 2.38 headers select in C2X or _GNU_SOURCE "
        "builds (g++ defines _GNU_SOURCE)",
    ),
    Culprit("GLIBC_2.38", ("strlcpy", "strlcat"), "new in glibc 2.38"),
    Culprit("GLIBC_2.36", ("arc4random", "arc4random_buf", "arc4random_uniform"), "new in glibc 2.36"),
    Culprit(
        "GLIBC_2.33",
        ("stat", "fstat", "lstat", "fstatat", "stat64", "fstat64", "lstat64", "fstatat64", "mknod", "mknodat"),
        "stat functions became real libc symbols in 2.33, older headers called __xstat",
    ),
    Culprit("GLIBC_2.32", ("pthread_*",), "moved from libpthread into libc in 2.32"),
    Culprit(
        "GLIBC_2.32", ("__libc_single_threaded",),
        "libstdc++ headers (GCC >= 11) use it when built against glibc >= 2.32",
    ),
    Culprit("GLIBC_2.30", ("gettid", "tgkill"), "new in glibc 2.30"),
    Culprit("GLIBC_2.29", ("exp", "log", "pow", "exp2", "log2"), "new libm implementations in 2.29", "libm.so.6"),
    Culprit("GLIBC_2.28", ("fcntl64",), "fcntl in a _FILE_OFFSET_BITS=64 build against glibc >= 2.28"),
    Culprit("GLIBC_2.27", ("glob", "glob64"), "glob changed in glibc 2.27"),
    Culprit(
        "GLIBC_2.27", ("expf", "logf", "powf", "exp2f", "log2f"), "new float libm implementations in 2.27",
        "libm.so.6",
    ),
    Culprit("GLIBC_2.26", ("reallocarray",), "new in glibc 2.26"),
    Culprit("GLIBC_2.25", ("getrandom", "getentropy", "explicit_bzero"), "new in glibc 2.25"),
    Culprit("GLIBC_2.17", ("clock_*",), "clock_* moved from librt into libc in 2.17"),
    Culprit("GLIBC_2.17", ("secure_getenv",), "new in glibc 2.17"),
    Culprit("GLIBC_2.14", ("memcpy",), "memcpy on x86_64 stopped tolerating overlapping copies in 2.14"),
    Culprit(
        "GLIBCXX_3.4.21", ("_ZNSt7__cxx11*",),
        "the C++11 std::string/std::list ABI, default since GCC 5: -D_GLIBCXX_USE_CXX11_ABI=0 selects the old one",
        "libstdc++.so.6",
    ),
    Culprit(
        "CXXABI_1.3.9", ("_ZdlPvm", "_ZdaPvm"),
        "C++14 sized operator delete, GCC >= 5: -fno-sized-deallocation avoids it", "libstdc++.so.6",
    ),
)  # fmt: skip


# version -> (position in CULPRITS, culprit): a finding's symbols are only tried against their version's.
_BY_VERSION: dict[str, list[tuple[int, Culprit]]] = {}
for _position, _culprit in enumerate(CULPRITS):
    _BY_VERSION.setdefault(_culprit.version, []).append((_position, _culprit))


@functools.lru_cache(maxsize=1 << 14)
def _explained(version: str, symbol: str) -> tuple[tuple[int, str], ...]:
    """(position in CULPRITS, label) of every culprit behind `symbol`@`version`.

    Cached: a tree's binaries name the same few thousand symbols again and again.
    """
    found = []
    for position, culprit in _BY_VERSION.get(version, ()):
        pattern = culprit.matches(version, symbol)
        if pattern is not None:
            found.append((position, pattern if "*" in pattern else symbol))
    return tuple(found)


def rank(version: str, symbol: str) -> int:
    """Position of the culprit behind `symbol`@`version` (len(CULPRITS) when none): explain first."""
    explained = _explained(version, symbol)
    return explained[0][0] if explained else len(CULPRITS)


def causes(version: str, symbols: Iterable[str]) -> list[str]:
    """`label = cause` for each culprit among `symbols`@`version`, in table order.

    A label is the symbol itself, or the glob when a glob matched: it stands for many.
    """
    labels: dict[int, dict[str, None]] = {}  # culprit position -> its labels, in order met
    for name in symbols:
        for position, label in _explained(version, name):
            labels.setdefault(position, {})[label] = None
    return [f"{', '.join(labels[p])} = {CULPRITS[p].cause}" for p in sorted(labels)]
