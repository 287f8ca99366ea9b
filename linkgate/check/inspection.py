"""`linkgate inspect`'s work: the loader's view of each artifact, plus section-level facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from linkgate.check.android_summary import android_summary
from linkgate.check.discover import Candidate
from linkgate.check.scan import NotElfError, read_candidate
from linkgate.check.shipping import Shipped, collect_shipped, site_of
from linkgate.core.site import Site
from linkgate.elf.android import with_android
from linkgate.elf.facts import ElfFacts
from linkgate.elf.gobuild import with_cgo_packages
from linkgate.elf.hardening import with_hardening
from linkgate.elf.image import ElfFormatError
from linkgate.elf.sections import read_section_facts
from linkgate.formats import json as json_format
from linkgate.formats import text_inspect
from linkgate.policy.locate import presets_dir
from linkgate.policy.targets import load_shipped
from linkgate.profiles.index import TargetIndex
from linkgate.rules.target import verdict


def inspect_candidates(candidates: list[Candidate], output_format: str) -> tuple[str, bool]:
    """Rendered output, and whether every ELF candidate could be read."""
    items: list[dict[str, Any]] = []
    readable = True
    # Each artifact is judged against every shipped profile, with what is shipped beside it.
    profiles = {name: profile.index() for name, profile in load_shipped(presets_dir()).items()}
    shipped = collect_shipped(candidates)
    for candidate in candidates:
        item = _inspect_one(candidate, profiles, shipped)
        if item is not None:
            readable = readable and "error" not in item
            items.append(item)
    if output_format == "json":
        return json_format.render_inspection(items), readable
    return text_inspect.render(items), readable


def _inspect_one(candidate: Candidate, profiles: Mapping[str, TargetIndex], shipped: Shipped) -> dict[str, Any] | None:
    try:
        facts = read_candidate(candidate)
    except NotElfError:
        return None
    except ElfFormatError as error:
        return {"path": candidate.display, "error": str(error)}
    facts = with_cgo_packages(candidate.fs_path, facts)
    try:
        facts = with_hardening(candidate.fs_path, facts)
    except ElfFormatError as error:
        return {"path": candidate.display, "error": f"hardening: {error}"}
    sections = read_section_facts(candidate.fs_path)
    extra = {
        "stripped": sections.stripped,
        "debug_info": sections.debug_info,
        "compiler": list(sections.comment),
        "compatibility": compatibility(facts, profiles, site_of(candidate, shipped)),
    }
    if facts.libc == "bionic":
        extra["android"] = android_summary(with_android(candidate.fs_path, facts))
    return json_format.facts_json(candidate.display, facts, extra)


def compatibility(facts: ElfFacts, profiles: Mapping[str, TargetIndex], site: Site) -> dict[str, dict[str, Any]]:
    """profile name -> {"runs": true/false/null, "missing": what the loader would name (interpreter,
    library, version), "unknown": libraries a partial profile does not list (runs is null when only those)}.

    UPX-packed files are judged by their payload, as the target rule judges them.
    """
    judged = facts.payload or facts
    result: dict[str, dict[str, Any]] = {}
    for name, profile in profiles.items():
        found = verdict(judged, profile, site)
        result[name] = {"runs": found.runs, "missing": list(found.missing), "unknown": list(found.unknown)}
    return result
