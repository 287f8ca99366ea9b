"""Human-readable output: one line per finding, then its fix; quiet when all is well."""

from __future__ import annotations

from linkgate.findings import Finding, Report, Severity


def render(report: Report) -> str:
    """Finding lines for stdout ("" when there are none)."""
    lines = [line for finding in report.findings for line in finding_lines(finding)]
    return "\n".join(lines) + "\n" if lines else ""


def finding_lines(finding: Finding) -> list[str]:
    """A finding and its fix; a waived one says so and why."""
    level = f"waived ({finding.waived_by})" if finding.waived_by else finding.severity.value
    lines = [f"{finding.path}: {level}: [{finding.rule}] {finding.message}"]
    if finding.hint and not finding.waived_by:
        lines.append(f"    fix: {finding.hint}")
    return lines


def summary(report: Report) -> str:
    """One line for stderr: what was checked and the verdict in numbers."""
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    total = len(report.artifacts)
    waived = sum(1 for a in report.artifacts for f in a.findings if f.waived_by)
    if report.passed:
        parts = [f"passed: {total} ELF artifact(s) meet policy {report.policy}"]
    else:
        parts = [f"failed: {report.failed_artifacts} of {total} ELF artifact(s) break policy {report.policy}"]
    parts.append(f"{errors} error(s), {warnings} warning(s)")
    if waived:
        parts.append(f"{waived} waived")
    if report.skipped:
        parts.append(f"{report.skipped} non-ELF file(s) skipped")
    return "linkgate: " + "; ".join(parts)
