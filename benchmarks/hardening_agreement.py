"""How often linkgate's hardening facts agree with checksec and hardening-check.

    python -m benchmarks.hardening_agreement [ROOT ...]     (default: /usr/bin /usr/sbin)

Runs both peers over every ELF file below the roots and prints, per field:
files compared, agreement %, and each disagreement with the path and both
answers. A field is compared where the peer answers; where linkgate answers
null ("cannot be known", e.g. a canary in a stripped static program) the file
is counted as an abstention, not as an agreement or a disagreement.
docs/hardening.md explains each class of disagreement.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from benchmarks.trees import elf_paths
from linkgate.elf import dynamic as dt
from linkgate.elf.facts import Hardening, Kind, Linkage
from linkgate.elf.hardening import FORTIFIABLE, with_hardening
from linkgate.elf.image import AddressMap, ElfFormatError, Image
from linkgate.elf.layouts import PT_DYNAMIC
from linkgate.elf.reader import read_elf
from linkgate.elf.symbols import dynamic_symbols

DEFAULT_ROOTS = ["/usr/bin", "/usr/sbin"]
# hardening-check's report lines: " Stack protected: yes"
_HC_LINE = re.compile(r"^ ([A-Za-z -]+): (.*)$")


@dataclass
class Ours:
    """linkgate's answers for one file, plus what checksec's fortify count needs."""

    kind: Kind
    linkage: Linkage
    hardening: Hardening | None
    # Fortifiable functions imported unchecked, counted even when also imported as __NAME_chk.
    plain_fortifiable: int | None = None
    # Imports that are a fortifiable name behind leading underscores (__stpcpy, _longjmp):
    # checksec strips the underscores and counts them; they have no checking variant.
    underscore_aliases: int = 0


@dataclass
class Sample:
    path: str
    ours: Ours | None
    checksec: dict[str, str] = field(default_factory=dict)
    hardening_check: dict[str, str] = field(default_factory=dict)


@dataclass
class FieldResult:
    peer: str
    name: str
    compared: int = 0
    agreed: int = 0
    abstained: int = 0
    # (path, linkgate's answer, the peer's answer, a known cause when one is recognised)
    disagreements: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return 100.0 if self.compared == 0 else 100.0 * self.agreed / self.compared


# --- collecting answers ------------------------------------------------------------------


def read_ours(path: str) -> Ours | None:
    try:
        facts = with_hardening(path, read_elf(path))
    except (ElfFormatError, OSError):
        return None
    judged = facts.payload or facts
    imports = None if facts.payload is not None else _imports(path)
    if imports is None:
        return Ours(judged.kind, judged.linkage, judged.hardening)
    aliases = sum(1 for name in imports if name.startswith("_") and name.lstrip("_") in FORTIFIABLE)
    # checksec counts a function imported both plain and as __NAME_chk twice: count plain imports.
    return Ours(judged.kind, judged.linkage, judged.hardening, len(imports & FORTIFIABLE), aliases)


def _imports(path: str) -> frozenset[str] | None:
    """The file's undefined dynamic symbols, through linkgate's loader's-view reader."""
    with open(path, "rb") as handle:
        image = Image(handle.read())
    segments = image.segments(image.header())
    if not any(s.p_type == PT_DYNAMIC for s in segments):
        return None
    addresses = AddressMap(segments)
    symbols = dynamic_symbols(image, dt.read_dynamic(image, segments, addresses), addresses)
    return None if symbols is None else symbols.imports


def run_checksec(path: str) -> dict[str, str]:
    command = ["checksec", "--format=json", f"--file={path}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        document: dict[str, dict[str, str]] = json.loads(result.stdout)
    except json.JSONDecodeError:
        return {}
    return next(iter(document.values()), {})


def run_hardening_check(path: str) -> dict[str, str]:
    # Exit status 1 only means "some feature missing"; the report is on stdout either way.
    result = subprocess.run(["hardening-check", path], capture_output=True, text=True, check=False)
    answers = {}
    for line in result.stdout.splitlines():
        match = _HC_LINE.match(line)
        if match:
            answers[match.group(1).strip()] = match.group(2).strip()
    return answers


def sample(path: str) -> Sample:
    return Sample(path, read_ours(path), run_checksec(path), run_hardening_check(path))


def collect(paths: Iterable[str], workers: int = 2) -> list[Sample]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(sample, paths))


# --- the fields compared --------------------------------------------------------------------
# Each maps a sample to (ours, peer): None from the peer = no answer (not compared);
# None from us = abstention.

Extract = Callable[[Sample], tuple[str | None, str | None]]


def _yes(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _pie_category(ours: Ours) -> str:
    if ours.hardening is not None and ours.hardening.pie:
        return "pie"
    return "library" if ours.kind is Kind.SHARED_LIBRARY else "no-pie"


def _cs_pie(s: Sample, _h: Hardening) -> tuple[str | None, str | None]:
    peer = {"yes": "pie", "no": "no-pie", "dso": "library"}.get(s.checksec.get("pie", ""))
    assert s.ours is not None
    return _pie_category(s.ours), peer


def _cs_fortifiable(s: Sample, h: Hardening) -> tuple[str | None, str | None]:
    assert s.ours is not None
    plain = s.ours.plain_fortifiable
    ours = None if plain is None or h.fortified_count is None else str(h.fortified_count + plain)
    return ours, s.checksec.get("fortify-able")


def _hc_pie(s: Sample, _h: Hardening) -> tuple[str | None, str | None]:
    answer = s.hardening_check.get("Position Independent Executable", "")
    peer = "pie" if answer == "yes" else "no-pie" if answer.startswith("no, normal") else None
    if "shared library" in answer:
        peer = "library"
    assert s.ours is not None
    return _pie_category(s.ours), peer


def _hc_fortify(s: Sample, h: Hardening) -> tuple[str | None, str | None]:
    answer = s.hardening_check.get("Fortify Source functions", "")
    peer = "yes" if answer.startswith("yes") else "no" if answer.startswith("no") else "none" if answer else None
    if h.fortifiable_count is None or h.fortified_count is None:
        return None, peer
    ours = "yes" if h.fortified_count else "no" if h.fortifiable_count else "none"
    return ours, peer


def _hc_answer(s: Sample, name: str) -> str | None:
    answer = s.hardening_check.get(name)
    if answer is None:
        return None
    return "yes" if answer.startswith("yes") else "no" if answer.startswith("no") else "unknown"


def _hc_canary(s: Sample, h: Hardening) -> tuple[str | None, str | None]:
    peer = _hc_answer(s, "Stack protected")
    return _yes(h.canary), None if peer == "unknown" else peer


def _hc_stack_clash(s: Sample, h: Hardening) -> tuple[str | None, str | None]:
    # Both report "found" or "unknown": probes appear only where a frame spans pages.
    return ("yes" if h.stack_clash else "unknown"), _hc_answer(s, "Stack clash protection")


def _hc_cfi(s: Sample, h: Hardening) -> tuple[str | None, str | None]:
    ours = None if h.cet is None else _yes(h.cet.ibt and h.cet.shstk)
    return ours, _hc_answer(s, "Control flow integrity")


FIELDS: list[tuple[str, str, Callable[[Sample, Hardening], tuple[str | None, str | None]]]] = [
    ("checksec", "relro", lambda s, h: ({"none": "no"}.get(h.relro, h.relro), s.checksec.get("relro"))),
    ("checksec", "canary", lambda s, h: (_yes(h.canary), s.checksec.get("canary"))),
    ("checksec", "nx", lambda s, h: (_yes(h.nx), s.checksec.get("nx"))),
    ("checksec", "pie", _cs_pie),
    ("checksec", "fortify_source", lambda s, h: (_yes(h.fortified), s.checksec.get("fortify_source"))),
    ("checksec", "fortified", lambda s, h: (_str(h.fortified_count), s.checksec.get("fortified"))),
    ("checksec", "fortify-able", _cs_fortifiable),
    ("hardening-check", "pie", _hc_pie),
    ("hardening-check", "stack protected", _hc_canary),
    ("hardening-check", "fortify", _hc_fortify),
    ("hardening-check", "relro", lambda s, h: (_yes(h.relro != "none"), _hc_answer(s, "Read-only relocations"))),
    ("hardening-check", "bind_now", lambda s, h: (_yes(h.bind_now), _hc_answer(s, "Immediate binding"))),
    ("hardening-check", "stack clash", _hc_stack_clash),
    ("hardening-check", "cfi (IBT+SHSTK)", _hc_cfi),
]


def known_cause(peer: str, name: str, s: Sample, ours: str, theirs: str) -> str:
    """The disagreement classes docs/hardening.md explains, recognised from the file itself."""
    assert s.ours is not None
    aliases = s.ours.underscore_aliases
    if (peer, name) == ("checksec", "fortify-able") and aliases and int(theirs) - int(ours) == aliases:
        return f"checksec strips leading underscores: {s.ours.underscore_aliases} alias import(s)"
    if name == "pie" and (ours, theirs) == ("pie", "library") and s.ours.kind is Kind.PIE:
        return "an ET_DYN executable without PT_PHDR, which hardening-check takes for a library"
    static = s.ours.linkage is not Linkage.DYNAMIC
    if (peer, name, ours, theirs) == ("hardening-check", "stack protected", "yes", "no") and static:
        return "a static program defines __stack_chk_fail; hardening-check looks only for it undefined"
    return ""


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def compare(samples: list[Sample]) -> list[FieldResult]:
    results = []
    for peer, name, extract in FIELDS:
        result = FieldResult(peer, name)
        for s in samples:
            if s.ours is None or s.ours.hardening is None:
                continue
            ours, theirs = extract(s, s.ours.hardening)
            if theirs is None:
                continue
            if ours is None:
                result.abstained += 1
                continue
            result.compared += 1
            if ours == theirs:
                result.agreed += 1
            else:
                result.disagreements.append((s.path, ours, theirs, known_cause(peer, name, s, ours, theirs)))
        results.append(result)
    return results


def table(results: list[FieldResult], samples: list[Sample]) -> str:
    unread = [s.path for s in samples if s.ours is None or s.ours.hardening is None]
    lines = [f"{len(samples)} ELF files; linkgate could not judge {len(unread)}: {', '.join(unread) or '-'}", ""]
    lines.append(f"{'peer':<16} {'field':<18} {'compared':>8} {'agree %':>8} {'abstain':>8} {'differ':>7}")
    for r in results:
        lines.append(
            f"{r.peer:<16} {r.name:<18} {r.compared:>8} {r.agreement:>8.2f} {r.abstained:>8} {len(r.disagreements):>7}"
        )
    for r in results:
        if r.disagreements:
            lines.append("")
            lines.append(f"{r.peer} / {r.name}: linkgate vs peer")
            lines.extend(
                f"  {path}: {ours} vs {theirs}" + (f"  ({cause})" if cause else "")
                for path, ours, theirs, cause in r.disagreements
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    samples = collect(elf_paths(argv or DEFAULT_ROOTS))
    sys.stdout.write(table(compare(samples), samples))
    return 0


def as_json(results: list[FieldResult]) -> list[dict[str, Any]]:
    """For scripts: the same figures as the table."""
    return [
        {"peer": r.peer, "field": r.name, "compared": r.compared, "agreement": r.agreement, "abstained": r.abstained}
        for r in results
    ]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
