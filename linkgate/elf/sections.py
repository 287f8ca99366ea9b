"""Section-level facts through pyelftools: only what the loader's view cannot give.

Section headers are optional for the loader, so everything here may be None;
nothing that gates an artifact depends on it.
"""

from __future__ import annotations

from elftools.elf.elffile import ELFFile

from linkgate.core.records import record


@record
class SectionFacts:
    stripped: bool | None = None
    debug_info: bool | None = None
    comment: tuple[str, ...] = ()


def read_section_facts(path: str) -> SectionFacts:
    """Symbol table / debug info presence and .comment strings (compiler versions)."""
    try:
        with open(path, "rb") as handle:
            elf = ELFFile(handle)
            if elf.num_sections() == 0:
                return SectionFacts()
            names = {section.name for section in elf.iter_sections()}
            comment = elf.get_section_by_name(".comment")
            strings = _comment_strings(comment.data()) if comment is not None else ()
            return SectionFacts(".symtab" not in names, ".debug_info" in names, strings)
    except Exception:
        # pyelftools raises assorted errors (construct, struct, index) on damaged
        # section tables; these facts are informational and the loader's-view
        # reader already reports what matters, so any failure just means unknown.
        return SectionFacts()


def _comment_strings(data: bytes) -> tuple[str, ...]:
    parts = (p.decode("utf-8", "replace").strip() for p in data.split(b"\x00"))
    return tuple(dict.fromkeys(p for p in parts if p))
