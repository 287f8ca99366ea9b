"""`linkgate explain` and the README's rule table come from the rules' own docstrings."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from linkgate.rules import ALL_RULES, docs, max_glibc
from linkgate.rules.base import Rule
from tests.conftest import run_linkgate
from tests.helpers import REPO

README = REPO / "README.md"


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_every_rule_documents_itself(rule: Rule) -> None:
    doc = docs.explanation(rule)
    assert doc.startswith(f"{rule.id}: ")
    assert len(doc.splitlines()) >= 3, "a summary line and at least a paragraph"


def test_explain_prints_the_docstring() -> None:
    result = run_linkgate("explain", "max-glibc")
    assert result.returncode == 0
    assert result.stdout == inspect.cleandoc(max_glibc.__doc__ or "") + "\n"
    assert "CGO_ENABLED=0" in result.stdout


def test_explain_lists_the_rules() -> None:
    result = run_linkgate("explain")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert listed == [rule.id for rule in ALL_RULES]


def test_explain_unknown_rule_cannot_evaluate() -> None:
    result = run_linkgate("explain", "max-glibcc")
    assert result.returncode == 2
    assert "unknown rule 'max-glibcc'" in result.stderr
    assert "max-glibc" in result.stderr


def test_readme_rule_table_is_generated() -> None:
    """Regenerate with `python -m linkgate.rules.docs` (it rewrites README.md between the markers)."""
    text = README.read_text(encoding="utf-8")
    assert docs.with_table(text) == text, "README rule table is stale: run `python -m linkgate.rules.docs`"


def test_docs_script_rewrites_and_checks(tmp_path: Path) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(f"# x\n\n{docs.START}\n| old |\n{docs.END}\n\nafter\n", encoding="utf-8")
    assert docs.main(["--check", str(stale)]) == 1
    assert docs.main([str(stale)]) == 0
    assert docs.main(["--check", str(stale)]) == 0
    text = stale.read_text(encoding="utf-8")
    assert "| `max-glibc` | the newest GLIBC_x.y symbol version the artifact may need. |" in text
    assert text.endswith(f"{docs.END}\n\nafter\n")
