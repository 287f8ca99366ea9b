"""Markdown for the GitHub job summary ($GITHUB_STEP_SUMMARY): artifacts x verdicts, then findings.

The summary holds at most 1 MiB per step, so both tables are capped (problems first) and say how
many rows they leave out.
"""

from __future__ import annotations

from linkgate.core.findings import ArtifactResult, Finding, Report, Severity
from linkgate.formats.github_matrix import details_lines, matrix_lines, status_of
from linkgate.formats.text import unjudged_phrase

MAX_ROWS = 200
_STATUS = {"fail": "❌ fail", "warn": "⚠️ warn", "pass": "✅ pass"}


def render(report: Report) -> str:
    lines = [f"### linkgate: {_headline(report)}", "", _facts(report), ""]
    if report.targets is not None:
        groups = ordered_groups(report)
        shown = dict(list(groups.items())[:MAX_ROWS])
        lines += matrix_lines(report, report.targets, shown) + _more(len(groups), "artifact(s)")
        return "\n".join(lines + details_lines(report, shown)) + "\n\n"
    lines.extend(_artifact_table(report))
    if report.findings:
        lines.extend(["", f"<details><summary>Findings ({len(report.findings)})</summary>", ""])
        lines.extend(_finding_table(report.findings))
        lines.extend(["", "</details>"])
    return "\n".join(lines) + "\n\n"


def _headline(report: Report) -> str:
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    total = len(report.artifacts)
    counts = f"{errors} error(s), {warnings} warning(s)"
    if not report.passed:
        return f"❌ failed: {report.failed_artifacts} of {total} artifact(s) ({counts})"
    return f"{'⚠️' if warnings else '✅'} passed: {total} artifact(s) ({counts})"


def ordered_groups(report: Report) -> dict[str, list[ArtifactResult]]:
    """The artifacts as given (an archive's members under the archive), failing ones first."""
    groups: dict[str, list[ArtifactResult]] = {}
    for artifact in report.artifacts:
        groups.setdefault(artifact.path.split("!", 1)[0], []).append(artifact)
    rank = {"fail": 0, "warn": 1, "pass": 2}
    return dict(sorted(groups.items(), key=lambda item: rank[status_of(report, item[1])]))


def _facts(report: Report) -> str:
    parts = [f"Policy {_code(report.policy)}"]
    if report.images:
        parts.append(f"image: {', '.join(report.images)}")
    waived = sum(1 for a in report.artifacts for f in a.findings if f.waived_by)
    if waived:
        parts.append(f"{waived} finding(s) waived")
    if report.baselined:
        parts.append(f"{report.baselined} finding(s) known from the baseline")
    if report.skipped:
        parts.append(f"{report.skipped} non-ELF file(s) skipped")
    if report.unjudged:
        parts.append(unjudged_phrase(report.unjudged))
    return " · ".join(parts)


def status(report: Report, artifact: ArtifactResult) -> str:
    """The report's verdict on one artifact; `warn` marks warnings that do not fail the run."""
    if report.artifact_failed(artifact):
        return "fail"
    active = [f.severity for f in artifact.findings if f.waived_by is None and not f.baselined]
    return "warn" if Severity.WARNING in active else "pass"


def _artifact_table(report: Report) -> list[str]:
    rank = {"fail": 0, "warn": 1, "pass": 2}
    verdicts = {a.path: status(report, a) for a in report.artifacts}
    ordered = sorted(report.artifacts, key=lambda a: rank[verdicts[a.path]])
    rows = ["| Artifact | Verdict | Errors | Warnings | Rules |", "| --- | --- | ---: | ---: | --- |"]
    for artifact in ordered[:MAX_ROWS]:
        active = [f for f in artifact.findings if f.waived_by is None and not f.baselined]
        errors = sum(1 for f in active if f.severity is Severity.ERROR)
        warnings = sum(1 for f in active if f.severity is Severity.WARNING)
        rules = ", ".join(dict.fromkeys(f.rule for f in active))
        verdict = _STATUS[verdicts[artifact.path]]
        rows.append(f"| {_code(artifact.path)} | {verdict} | {errors} | {warnings} | {rules} |")
    return rows + _more(len(ordered), "artifact(s)")


def _finding_table(findings: tuple[Finding, ...]) -> list[str]:
    rows = ["| Severity | Rule | Artifact | Message | Fix |", "| --- | --- | --- | --- | --- |"]
    for f in findings[:MAX_ROWS]:
        level = f.severity.value + (" (baselined)" if f.baselined else "")
        cells = (level, f.rule, _code(f.path), _cell(f.message), _cell(f.hint))
        rows.append("| " + " | ".join(cells) + " |")
    return rows + _more(len(findings), "finding(s)")


def _more(total: int, what: str) -> list[str]:
    hidden = total - MAX_ROWS
    return ["", f"… and {hidden} more {what}: see the log or the SARIF report."] if hidden > 0 else []


def _cell(text: str) -> str:
    """Table cells are one line and must not close the cell early."""
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _code(text: str) -> str:
    """`text` as inline code; a backtick inside needs a longer fence."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {_cell(text)} {fence}" if fence == "``" else f"`{_cell(text)}`"
