"""Machine-readable output for scripts: findings of a check, facts of an inspect.

A check's JSON report is also the baseline format (`check --baseline FILE`): this module
writes it and reads back the fingerprints it lists.
"""

from __future__ import annotations

import json
from typing import Any

from linkgate.core.findings import ArtifactResult, Finding, Report, Severity, finding_fails
from linkgate.elf.facts import ElfFacts, GoBuildInfo, GoModule, Hardening, UpxFacts
from linkgate.elf.floors import effective_isa, effective_kernel_floor


def render(report: Report) -> str:
    return assemble(report, [row for a in report.artifacts for row in artifact_rows(a, report.failing)])


def artifact_rows(artifact: ArtifactResult, failing: frozenset[Severity]) -> list[str]:
    """The report's line for each finding of `artifact`, in a run that fails on `failing`.

    Pure, and decided by the artifact alone: the CLI writes them while the workers still read
    (commands.check.collect), and `render` is `assemble` of them.
    """
    return [json.dumps(finding_json(f, fails=finding_fails(f, failing))) for f in artifact.findings]


def assemble(report: Report, rows: list[str]) -> str:
    """The report around `rows`, the artifact_rows of its artifacts in order.

    The summary indented, then each finding on one line: readable, greppable, and written by
    json's C encoder (`indent=` selects the pure-Python one, slow on a tree's thousands of findings).
    """
    summary = {
        "policy": report.policy,
        "artifacts": len(report.artifacts),
        "skipped": report.skipped,
        "passed": report.passed,
        "failed_artifacts": report.failed_artifacts,
    }
    if report.unjudged:  # only then: reports without Mach-O or PE members keep their shape
        summary["not_judged"] = report.unjudged
    if report.images:  # only then: other reports stay as they were
        summary["images"] = list(report.images)
    head = json.dumps(summary, indent=2)[: -len("\n}")]
    joined = ",\n    ".join(rows)
    listed = f"[\n    {joined}\n  ]" if rows else "[]"
    return f'{head},\n  "findings": {listed}\n}}\n'


def finding_json(finding: Finding, **extra: Any) -> dict[str, Any]:
    """One finding as the JSON report lists it; `extra` keys follow (a check's `fails`)."""
    document = {
        "rule": finding.rule,
        "path": finding.path,
        "severity": finding.severity.value,
        "subject": finding.subject,
        "message": finding.message,
        "hint": finding.hint,
        "symbols": list(finding.symbols),
        "waived": finding.waived_by,
        "fingerprint": finding.fingerprint,
    }
    if finding.baseline is not None:
        document["baseline"] = finding.baseline.value
    document.update(extra)
    return document


class BaselineFormatError(ValueError):
    """The baseline file is not a JSON report of `linkgate check --format json`."""


def baseline_fingerprints(text: str) -> frozenset[str]:
    """The fingerprints of the findings a JSON report shows as active (waived ones are not known:
    a waiver that expires must fail again). ValueError when `text` is not such a report."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise BaselineFormatError(f"not JSON: {error}") from None
    except RecursionError:
        raise BaselineFormatError("not a linkgate JSON report (nested too deeply)") from None
    findings = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(findings, list):
        raise BaselineFormatError('not a linkgate JSON report (no "findings" list)')
    known = set()
    for index, finding in enumerate(findings):
        fingerprint = finding.get("fingerprint") if isinstance(finding, dict) else None
        if not isinstance(fingerprint, str) or not fingerprint:
            raise BaselineFormatError(f"finding {index} has no fingerprint")
        if finding.get("waived") is None:
            known.add(fingerprint)
    return frozenset(known)


def facts_json(path: str, facts: ElfFacts, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The inspect view of one artifact; for UPX files the payload's linkage is the artifact's."""
    judged = facts.payload or facts
    document: dict[str, Any] = {"path": path, **_linkage_json(judged)}
    document["class"] = facts.elf_class
    document["byte_order"] = facts.byte_order
    document["machine"] = facts.machine
    document["executable_stack"] = facts.executable_stack
    document["section_headers"] = facts.has_section_headers
    document["upx"] = _upx_json(facts.upx)
    document["go"] = go_json(judged.go)
    document["hardening"] = hardening_json(judged.hardening)
    document.update(floors_json(judged))
    document.update(extra or {})
    return document


def floors_json(facts: ElfFacts) -> dict[str, Any]:
    """The machine floors (docs/machine-floors.md): CPU level, kernel and page sizes, Go's included."""
    isa, level, kernel, alignment = facts.isa, effective_isa(facts), effective_kernel_floor(facts), facts.load_alignment
    return {
        "isa": None
        if isa is None
        else {
            "needed": list(isa.needed),
            "used": list(isa.used),
            "features": list(isa.features),
            "level": None if level is None else level[0],
            "source": None if level is None else level[1],
        },
        "kernel_floor": None
        if kernel is None
        else {"version": kernel.text, "source": kernel.source, "startup_check": kernel.startup_check},
        "load_alignment": None
        if alignment is None
        else {"smallest": alignment.smallest, "max_page_size": alignment.max_page_size},
    }


def go_json(go: GoBuildInfo | None) -> dict[str, Any] | None:
    """Go build info as `go version -m` shows it; settings as a mapping (keys are unique)."""
    if go is None:
        return None
    return {
        "version": go.version,
        "path": go.path,
        "main": _module_json(go.main),
        "modules": [_module_json(m) for m in go.deps],
        "settings": dict(go.settings),
        "cgo_enabled": go.cgo_enabled,
        "cgo_packages": None if go.cgo_packages is None else list(go.cgo_packages),
        "goamd64": go.goamd64,
        "layout": go.layout,
        "problem": go.problem or None,
    }


def hardening_json(hardening: Hardening | None) -> dict[str, Any] | None:
    """The hardening facts; None (not looked for, or a packed payload that could not be read)."""
    if hardening is None:
        return None
    return {
        "pie": hardening.pie,
        "relro": hardening.relro,
        "bind_now": hardening.bind_now,
        "nx": hardening.nx,
        "rwx_segments": [{"index": s.index, "vaddr": hex(s.vaddr), "memsz": s.memsz} for s in hardening.rwx_segments],
        "textrel": hardening.textrel,
        "canary": hardening.canary,
        "fortified": hardening.fortified,
        "fortified_count": hardening.fortified_count,
        "fortifiable_count": hardening.fortifiable_count,
        "unfortified": list(hardening.unfortified),
        "cet": None if hardening.cet is None else {"ibt": hardening.cet.ibt, "shstk": hardening.cet.shstk},
        "stack_clash": hardening.stack_clash,
    }


def _module_json(module: GoModule | None) -> dict[str, Any] | None:
    if module is None:
        return None
    return {
        "path": module.path,
        "version": module.version,
        "sum": module.sum,
        "replace": _module_json(module.replace),
    }


def _linkage_json(facts: ElfFacts) -> dict[str, Any]:
    return {
        "kind": facts.kind.value,
        "linkage": facts.linkage.value,
        "libc": facts.libc,
        "interpreter": facts.interpreter,
        "needed": list(facts.needed),
        "soname": facts.soname,
        "rpath": list(facts.rpath),
        "runpath": list(facts.runpath),
        "version_needs": facts.needs_by_library(),
        "version_symbols": _symbols_json(facts),
        "version_defs": list(facts.version_defs),
        "flags": facts.flags,
        "flags_1": facts.flags_1,
    }


def _symbols_json(facts: ElfFacts) -> dict[str, dict[str, list[str]]]:
    """library -> version -> the undefined symbols carrying it (weak ones marked)."""
    result: dict[str, dict[str, list[str]]] = {}
    for need in facts.version_needs:
        names = [s.name + (" (weak)" if s.weak else "") for s in need.symbols]
        result.setdefault(need.library, {})[need.version] = names
    return result


def _upx_json(upx: UpxFacts | None) -> dict[str, Any] | None:
    if upx is None:
        return None
    return {
        "packed": upx.packed,
        "evidence": upx.evidence,
        "tier": upx.tier,
        "version": upx.version,
        "method": upx.method,
        "payload_read": upx.payload_read,
    }


def render_inspection(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, indent=2) + "\n"
