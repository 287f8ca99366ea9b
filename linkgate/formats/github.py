"""GitHub Actions workflow commands: per-artifact detail folded in groups, then annotations.

Only the exit code fails a step; these lines make the failure readable. The runner keeps 10
annotations per level and step, so the most important come first and one notice counts the rest.
"""

from __future__ import annotations

from collections import Counter

from linkgate.core.findings import ArtifactResult, Finding, Report, Severity
from linkgate.formats.text import finding_lines

LEVELS: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.NOTE: "notice",
}
# Annotations the runner keeps per level and step; the rest are dropped silently.
PER_LEVEL = 10


def render(report: Report) -> str:
    lines = [line for artifact in report.artifacts for line in _group(artifact)]
    lines.extend(annotation_lines(report))
    return "".join(line + "\n" for line in lines)


def annotation_lines(report: Report) -> list[str]:
    """The annotation lines to print, most important first, with a notice for the ones left out.

    Findings known from the baseline stay in the log groups: annotations are for what is new.
    """
    shown, hidden = _within_limits(tuple(f for f in report.findings if not f.baselined))
    lines = [_annotation(finding, report) for finding in shown]
    if hidden:
        lines.append(
            f"::notice title=linkgate::{hidden} more finding(s) not annotated (GitHub keeps "
            f"{PER_LEVEL} per level): see the job summary, the SARIF report or the log groups"
        )
    return lines


def _within_limits(findings: tuple[Finding, ...]) -> tuple[list[Finding], int]:
    """Findings the runner will keep; one notice slot stays free for the overflow count."""
    by_level = {level: [f for f in findings if LEVELS[f.severity] == level] for level in LEVELS.values()}
    overflow = sum(max(0, len(group) - PER_LEVEL) for group in by_level.values())
    limits = dict.fromkeys(by_level, PER_LEVEL)
    if overflow or len(by_level["notice"]) > PER_LEVEL:
        limits["notice"] = PER_LEVEL - 1
    shown = [f for level, group in by_level.items() for f in group[: limits[level]]]
    return shown, len(findings) - len(shown)


def _annotation(finding: Finding, report: Report) -> str:
    """Points at the policy line the finding breaks when there is one (inline in the PR diff)."""
    ref = report.policy_ref
    line = ref.line_of(finding.rule) if ref else None
    where = {"file": ref.path, "line": str(line)} if ref and line else {"file": finding.path}
    properties = {**where, "title": f"{finding.rule}: {finding.path}"}
    message = f"{finding.path}: {finding.message}" + (f"\nfix: {finding.hint}" if finding.hint else "")
    return command(LEVELS[finding.severity], properties, message)


def _group(artifact: ArtifactResult) -> list[str]:
    """Every finding of one artifact, waived ones too, folded under a one-line count."""
    if not artifact.findings:
        return []
    counts = Counter(_label(f) for f in artifact.findings)
    plural = {label: label if label in ("waived", "baselined") else f"{label}(s)" for label in counts}
    title = f"linkgate: {artifact.path}: " + ", ".join(f"{n} {plural[label]}" for label, n in counts.items())
    body = [_plain(line) for finding in artifact.findings for line in finding_lines(finding)]
    return [command("group", {}, title), *body, "::endgroup::"]


def _label(finding: Finding) -> str:
    return "waived" if finding.waived_by else "baselined" if finding.baselined else finding.severity.value


def _plain(line: str) -> str:
    """A log line that cannot start a second line (a file name may hold a newline and `::`)."""
    return line.replace("\r", "\\r").replace("\n", "\\n")


def command(name: str, properties: dict[str, str], message: str) -> str:
    """`::name key=value,...::message` with both parts escaped as the runner expects."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def escape_data(text: str) -> str:
    """An unescaped newline would end the command; `%` first so escapes are not escaped twice."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
