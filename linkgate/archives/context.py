"""What every reader of one archive given on the command line shares: bounds, budget, symbol selection."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from linkgate.archives.limits import Budget, Limits
from linkgate.archives.magic import Format
from linkgate.archives.tree import Unit
from linkgate.core.records import record, replace
from linkgate.elf.facts import ElfFacts
from linkgate.elf.image import Buffer
from linkgate.elf.versions import SymbolSelection

# Fills in facts a rule needs beyond the loader's view (hardening), from a member's bytes:
# (display path, bytes, facts) -> facts.
Completer = Callable[[str, Buffer, ElfFacts], ElfFacts]
# Reads an archive of a known format from a stream: (format, stream, its member name, context) -> unit.
Reader = Callable[[Format, BinaryIO, str, "Context"], Unit]


@record
class Context:
    limits: Limits
    budget: Budget
    # The symbol selection for a member's display path (which needs some rule will reject).
    select: Callable[[str], SymbolSelection]
    # The display path of the archive being read (`dist/a.zip`, then `dist/a.zip!b.tar.gz` inside it).
    prefix: str
    # The dispatcher (linkgate.archives.read), handed down so nested archives need no import cycle.
    reader: Reader
    depth: int = 1
    complete: Completer | None = None
    # Read the exports of shared-library members: the unit's members are judged as shipped
    # together, and musl binds symbols by name to whichever loaded library exports them.
    exports: bool = False
    # Member names whose text is kept on their node (an image's ld.so.conf, os-release, libc).
    keep_text: Callable[[str], bool] | None = None

    def inside(self, member: str) -> Context:
        """The context of an archive found at `member` of this one."""
        return replace(self, prefix=f"{self.prefix}!{member}", depth=self.depth + 1)

    def display(self, member: str) -> str:
        return f"{self.prefix}!{member}"
