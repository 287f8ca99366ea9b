"""The CI edge: which CI runs us, its workspace, and the report files written besides stdout.

Renderers stay pure; everything that reads the environment or writes a side file is here, called
by the CLI.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TextIO

from linkgate.check.discover import Candidate, relative_display, workspace_roots
from linkgate.core.exitcodes import CannotEvaluateError
from linkgate.core.findings import PolicyRef, Report
from linkgate.core.records import record, replace
from linkgate.formats import FormatName, format_name
from linkgate.policy.compiled import CompiledPolicy
from linkgate.rules import elf_format

Renderer = Callable[[Report], str]


@record
class CiContext:
    github_actions: bool
    # Paths in reports and fingerprints are relative to this: GITHUB_WORKSPACE, CI_PROJECT_DIR, cwd.
    workspace: str
    step_summary: str | None = None


def detect(environ: Mapping[str, str], cwd: str) -> CiContext:
    github = environ.get("GITHUB_ACTIONS") == "true"
    gitlab = environ.get("GITLAB_CI") == "true"
    workspace = environ.get("GITHUB_WORKSPACE" if github else "CI_PROJECT_DIR" if gitlab else "")
    # A workspace that is not there (a local runner emulating a container path) cannot anchor paths.
    root = workspace if workspace and os.path.isdir(workspace) else cwd
    summary = environ.get("GITHUB_STEP_SUMMARY") if github else None
    return CiContext(github, root, summary or None)


def color_wanted(choice: str, stream: TextIO, environ: Mapping[str, str]) -> bool:
    """--color: `always`/`never` as said; `auto` honours NO_COLOR, then FORCE_COLOR (no-color.org,
    force-color.org: set and not empty), else colours a terminal that is not `TERM=dumb`."""
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return environ.get("TERM") != "dumb" and stream.isatty()


def output_format(requested: str, ci: CiContext) -> FormatName:
    """`auto`: workflow commands under GitHub Actions, plain text everywhere else."""
    if requested != "auto":
        return format_name(requested)
    return "github" if ci.github_actions else "text"


def relative_candidates(candidates: Iterable[Candidate], workspace: str) -> list[Candidate]:
    """Display paths relative to the workspace, so fingerprints are the same on every runner."""
    roots = workspace_roots(workspace)
    # A new record only where the display changes: a tree outside the workspace keeps every one.
    return [c if (shown := relative_display(c.display, roots)) == c.display else replace(c, display=shown)
            for c in candidates]  # fmt: skip


def policy_ref(policy: CompiledPolicy, workspace: str) -> PolicyRef | None:
    """The policy file as a workspace path: only then can an annotation point into it."""
    if policy.source is None:
        return None
    path = relative_display(policy.source, workspace_roots(workspace))
    return None if os.path.isabs(path) else PolicyRef(path, dict(policy.rule_lines))


def write_reports(report: Report, targets: Iterable[tuple[str | None, Renderer]]) -> None:
    """--sarif/--gitlab-report/--junit FILE: one run feeds every consumer."""
    for path, render in targets:
        if path:
            with _writing_to(path), open(path, "w", encoding="utf-8") as handle:
                handle.write(render(report))


@contextlib.contextmanager
def _writing_to(path: str) -> Iterator[None]:
    """A report that cannot be written (/dev/full, a missing directory) cannot be evaluated: exit 2."""
    try:
        yield
    except OSError as error:
        raise CannotEvaluateError(f"cannot write the report to {path}: {error.strerror or error}") from None


def append_step_summary(report: Report, ci: CiContext) -> None:
    if ci.step_summary is not None:
        from linkgate.formats import github_summary  # noqa: PLC0415 - lazy: start-up

        with _writing_to(ci.step_summary), open(ci.step_summary, "a", encoding="utf-8") as handle:
            handle.write(github_summary.render(report))


def with_policy_context(report: Report, policy: CompiledPolicy, workspace: str) -> Report:
    """What CI reports need besides findings: the rules evaluated, and where the policy file is."""
    ref = policy_ref(policy, workspace)
    rules = (elf_format.RULE.id, *policy.rule_ids())
    return replace(report, policy=ref.path if ref else report.policy, rules=rules, policy_ref=ref)
