"""What capturing a profile reads of a target system, wherever its files are.

Two sources implement it: a root directory on this machine (linkgate.profiles.rootfs,
`profile capture --root`) and a container image's final filesystem as read in place
from its layers (linkgate.profiles.imagefs). Paths are the target's absolute paths;
symlinks are resolved inside the target, never on the host.
"""

from __future__ import annotations

from typing import Protocol

from linkgate.elf.facts import ElfFacts


class SystemFs(Protocol):
    def is_file(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def read_text(self, path: str) -> str | None: ...

    def read_bytes(self, path: str) -> bytes | None:
        """A small file's bytes (ld.so.cache); None when there is none."""

    def listdir(self, path: str) -> list[str]:
        """Sorted entry names of the directory `path` (empty when it is not one)."""

    def glob(self, pattern: str) -> list[str]:
        """Paths matching `pattern`; wildcards in the last component only (ld.so.conf style)."""

    def elf_facts(self, path: str) -> ElfFacts | None:
        """The loader's view of the ELF file at `path`; None for anything else."""

    def glibc_release(self, path: str) -> str | None:
        """The release the glibc at `path` announces ("2.31"); None when it names none."""
