"""The step summary's matrix: each artifact given x the policy and each shipped target, then each
artifact's findings in a collapsed <details>, every fix text written once.

Rows are the artifacts as given (an archive is one row: its members together). A cell is ✓, ✗
with the first reason, or ? when the target's profile cannot tell (a library it does not list).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence

from linkgate.core.findings import ArtifactResult, Finding, Report, Severity
from linkgate.core.verdicts import Cell, TargetMatrix

_MARK = {"fail": "❌", "warn": "⚠️", "pass": "✅"}
_REASON_CHARS = 24
_LEGEND = "✓ runs there · ✗ does not (what its loader would name first) · ? the profile cannot tell"
_IMAGES = " · — a container image: judged on its own system (`image-target`)"
_NAME_CHARS = 40


def matrix_lines(report: Report, matrix: TargetMatrix, groups: dict[str, list[ArtifactResult]]) -> list[str]:
    head = ["Artifact", "Policy", *matrix.targets]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- |" + " :-: |" * len(matrix.targets)]
    for name, results in groups.items():
        row = matrix.rows.get(name)
        targets = [_cell(c) for c in row] if row is not None else ["—"] * len(matrix.targets)
        lines.append(f"| {code(short_name(name))} | " + " | ".join([_policy_cell(report, results), *targets]) + " |")
    lines += ["", _LEGEND + (_IMAGES if len(matrix.rows) < len(groups) else "")]
    return lines


def details_lines(report: Report, groups: dict[str, list[ArtifactResult]]) -> list[str]:
    """Each artifact with findings: a collapsed block of them, grouped under the fix they share."""
    lines: list[str] = []
    written: dict[str, str] = {}  # fix text -> the artifact it was first written under
    for name, results in groups.items():
        findings = [f for r in results for f in r.findings if f.waived_by is None]
        if not findings:
            continue
        verdict = status_of(report, results)
        lines += ["", f"<details><summary>{_MARK[verdict]} {html(name)}: {_counts(findings)}</summary>", ""]
        lines += list(_grouped(findings, name, written))
        lines += ["", "</details>"]
    return lines


def _grouped(findings: list[Finding], artifact: str, written: dict[str, str]) -> Iterator[str]:
    by_fix: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: f.severity.rank):
        by_fix.setdefault(finding.hint, []).append(finding)
    for fix, group in by_fix.items():
        yield from (_finding_line(f, artifact) for f in group)
        if fix and fix in written:
            yield f"  - **Fix:** as for {code(short_name(written[fix]))} above"
        elif fix:
            written[fix] = artifact
            yield f"  - **Fix:** {cell(fix)}"


def _finding_line(finding: Finding, artifact: str) -> str:
    member = finding.path[len(artifact) + 1 :] if finding.path.startswith(artifact + "!") else ""
    where = f"{code(member)}: " if member else ""
    level = finding.severity.value + (" (baselined)" if finding.baselined else "")
    return f"- **{level}** `{finding.rule}` {where}{cell(finding.message)}"


def _counts(findings: Sequence[Finding]) -> str:
    parts = [(s, sum(1 for f in findings if f.severity is s)) for s in Severity]
    return ", ".join(f"{n} {s.value}(s)" for s, n in parts if n)


def _policy_cell(report: Report, results: list[ArtifactResult]) -> str:
    verdict = status_of(report, results)
    active = [f for r in results for f in r.findings if f.waived_by is None and not f.baselined]
    first = next((f for f in sorted(active, key=lambda f: f.severity.rank)), None)
    reason = f"<br>{_short(f'{first.rule}: {first.subject}')}" if first and verdict != "pass" else ""
    return _MARK[verdict] + reason


def _cell(found: Cell) -> str:
    if found.runs:
        return "✓"
    # A missing interpreter by its file name: the whole path would widen every column.
    reason = f"no {posixpath.basename(found.reason)}" if found.reason.startswith("/") else found.reason
    # The reason under the mark: a column is then as wide as its longest reason, not wider.
    return ("✗" if found.runs is False else "?") + (f"<br>{_short(reason)}" if reason else "")


def status_of(report: Report, results: Sequence[ArtifactResult]) -> str:
    if any(report.artifact_failed(r) for r in results):
        return "fail"
    active = [f.severity for r in results for f in r.findings if f.waived_by is None and not f.baselined]
    return "warn" if Severity.WARNING in active else "pass"


def short_name(name: str) -> str:
    """A long wheel name as `numpy-2.1.0-cp312…manylinux_2_17_x86_64.whl`: name, version, Python tag
    and first platform; the full name is in the artifact's details."""
    directory, base = posixpath.split(name)
    parts = base[: -len(".whl")].split("-") if base.endswith(".whl") else []
    if len(base) <= _NAME_CHARS or len(parts) not in (5, 6):
        return name
    platform = parts[-1].split(".")[0]
    short = f"{parts[0]}-{parts[1]}-{parts[-3]}…{platform}.whl"
    return posixpath.join(directory, short) if directory else short


def _short(text: str) -> str:
    text = cell(text)
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"


def cell(text: str) -> str:
    """Table cells and list items are one line and must not close a cell early."""
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """`text` as inline code; a backtick inside needs a longer fence."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {cell(text)} {fence}" if fence == "``" else f"`{cell(text)}`"
