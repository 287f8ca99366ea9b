"""Which target profiles an artifact runs on: the compatibility line of `inspect`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from linkgate.elf.facts import ElfFacts
from linkgate.profiles.index import TargetIndex
from linkgate.rules.target import judge
from linkgate.site import Site


def compatibility(facts: ElfFacts, profiles: Mapping[str, TargetIndex], site: Site) -> dict[str, dict[str, Any]]:
    """profile name -> {"runs": bool, "missing": what the loader would name (interpreter, library, version)}.

    UPX-packed files are judged by their payload, as the target rule judges them.
    """
    judged = facts.payload or facts
    result: dict[str, dict[str, Any]] = {}
    for name, profile in profiles.items():
        missing = [violation.subject for violation in judge(judged, profile, site)]
        result[name] = {"runs": not missing, "missing": missing}
    return result
