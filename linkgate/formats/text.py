"""Human-readable output: one line per finding, then its fix; quiet when all is well."""

from __future__ import annotations

from linkgate.core.findings import Finding, Report, Severity

# SGR styles of a coloured terminal: the severity word of each finding, the verdict of the summary.
STYLES = {"error": "1;31", "warning": "33", "note": "36", "failed": "1;31", "passed": "32"}


def render(report: Report, *, quiet: bool = False, color: bool = False) -> str:
    """Finding lines for stdout ("" when there are none); `quiet`: only the findings that fail the run."""
    findings = [f for f in report.findings if report.fails(f)] if quiet else report.findings
    lines = [line for finding in findings for line in finding_lines(finding, color=color)]
    return "\n".join(lines) + "\n" if lines else ""


def painted(text: str, style: str, color: bool) -> str:
    """`text` in the STYLES entry `style` when colouring, else unchanged."""
    return f"\x1b[{STYLES[style]}m{text}\x1b[0m" if color and style in STYLES else text


def finding_lines(finding: Finding, *, color: bool = False) -> list[str]:
    """A finding and its fix; a waived one says so and why, a known one that it is in the baseline."""
    severity = finding.severity.value
    level = f"waived ({finding.waived_by})" if finding.waived_by else painted(severity, severity, color)
    if finding.baselined and not finding.waived_by:
        level += " (baselined)"
    lines = [f"{finding.path}: {level}: [{finding.rule}] {finding.message}"]
    if finding.hint and not finding.waived_by and not finding.baselined:
        lines.append(f"    fix: {finding.hint}")
    return lines


def summary(report: Report, *, color: bool = False) -> str:
    """One line for stderr: what was checked and the verdict in numbers."""
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    total = len(report.artifacts)
    waived = sum(1 for a in report.artifacts for f in a.findings if f.waived_by)
    what = _artifacts(report)
    if report.passed:
        parts = [f"{painted('passed', 'passed', color)}: {total} {what} meet policy {report.policy}"]
    else:
        verdict = painted("failed", "failed", color)
        parts = [f"{verdict}: {report.failed_artifacts} of {total} {what} break policy {report.policy}"]
    if report.images:
        parts.append(f"image{'s' if len(report.images) > 1 else ''}: {', '.join(report.images)}")
    parts.append(f"{errors} error(s), {warnings} warning(s)")
    if waived:
        parts.append(f"{waived} waived")
    if report.baselined:
        parts.append(f"{report.baselined} baselined")
    if report.skipped:
        parts.append(f"{report.skipped} non-ELF file(s) skipped")
    if report.unjudged:
        parts.append(unjudged_phrase(report.unjudged))
    return "linkgate: " + "; ".join(parts)


def unjudged_phrase(counts: dict[str, int]) -> str:
    """`3 Mach-O/PE file(s) not judged (2 Mach-O, 1 PE)`."""
    detail = ", ".join(f"{number} {kind}" for kind, number in counts.items())
    return f"{sum(counts.values())} {'/'.join(counts)} file(s) not judged ({detail})"


def _artifacts(report: Report) -> str:
    """ "ELF artifact(s)", or, when some results are archives or members that are no ELF file, how many
    are problems and how many only carry notes (an Android package's minSdk)."""
    others = [a for a in report.artifacts if not a.elf]
    if not others:
        return "ELF artifact(s)"
    problems = sum(1 for a in others if any(f.severity is not Severity.NOTE for f in a.findings))
    counts = [f"{len(report.artifacts) - len(others)} ELF"]
    counts += [f"{problems} archive or member problem(s)"] if problems else []
    counts += [f"{len(others) - problems} archive(s) with notes only"] if len(others) > problems else []
    return f"artifact(s) ({', '.join(counts)})"


def diff_summary(report: Report, *, color: bool = False) -> str:
    """`linkgate diff`'s line for stderr: whether anything got worse, in numbers."""
    worse = sum(1 for f in report.findings if report.fails(f))
    noted = len(report.findings) - worse
    total = len(report.artifacts)
    if report.passed:
        parts = [f"{painted('nothing got worse', 'passed', color)} across {total} ELF artifact(s)"]
    else:
        worse_text = painted("worse", "failed", color)
        parts = [f"{worse_text}: {report.failed_artifacts} of {total} ELF artifact(s), {worse} change(s) fail"]
    parts.append(f"{noted} change(s) noted")
    if report.skipped:
        parts.append(f"{report.skipped} non-ELF file(s) skipped")
    return f"linkgate diff (policy {report.policy}): " + "; ".join(parts)
