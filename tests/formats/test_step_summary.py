"""The step summary as a reader sees it: an artifact x target matrix, rendered by GitHub's own GFM
parser (cmark-gfm) and photographed by headless Chromium.

The `dist/` holds programs built here (Debian 12: `new` needs GLIBC_2.34 and GLIBCXX_3.4.29, `old`
is linked statically against musl) and two real wheels from the package index, one with a long
multi-tag name. Every cell must say what `linkgate inspect` says of the same file (of each
member, for a wheel: the row fails where one member fails).
"""

from __future__ import annotations

import html.parser
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from linkgate.check.target_matrix import TARGETS
from scripts.summary_screenshot import screenshot, to_html
from tests.conftest import run_linkgate
from tests.helpers import REPO, require_tool
from tests.helpers.wheels import require_wheel, unpack

LONG_WHEEL = ("psutil==7.0.0", "manylinux2014_x86_64")  # tagged manylinux_2_12 ... manylinux2014
MUSL_WHEEL = ("MarkupSafe==3.0.2", "musllinux_1_2_x86_64")
PICTURE = REPO / "docs" / "step-summary.png"
PICTURE_SIZE = (1600, 340)  # the first columns, as a browser window shows them


class Tables(html.parser.HTMLParser):
    """The text of each table row's cells, and each <details>' <summary>, of rendered HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.summaries: list[str] = []
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        del attrs  # cells and summaries are told by their tag alone
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th", "summary"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._text is not None:
            self.rows[-1].append("".join(self._text).strip())
        if tag == "summary" and self._text is not None:
            self.summaries.append("".join(self._text).strip())
        if tag in ("td", "th", "summary"):
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def build_dist(root: Path) -> Path:
    dist = root / "dist"
    dist.mkdir(parents=True)
    (root / "new.cc").write_text(
        "#include <iostream>\n#include <string>\n#include <sys/random.h>\n"
        'int main(int argc, char**){ char b[4]; getrandom(b, 4, 0); std::string s("hi"); s.reserve();'
        " std::cout << s << argc; return 0; }\n"
    )
    (root / "old.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    subprocess.run([require_tool("g++"), "-O2", "-o", dist / "new", root / "new.cc"], check=True)
    subprocess.run([require_tool("musl-gcc"), "-static", "-O2", "-o", dist / "old", root / "old.c"], check=True)
    for spec, platform in (LONG_WHEEL, MUSL_WHEEL):
        shutil.copy(require_wheel(spec, platform), dist)
    return dist


def summary_of(dist: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """`linkgate check dist` as a GitHub Actions step with no policy: its result and step summary."""
    summary = dist.parent / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": str(dist.parent)}
    result = run_linkgate("check", "dist", cwd=dist.parent, env=env)
    assert result.returncode == 1, result.stderr
    return result, summary.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Tables]:
    dist = build_dist(tmp_path_factory.mktemp("summary"))
    _, markdown = summary_of(dist)
    page = to_html(markdown, require_tool("cmark-gfm"))
    tables = Tables()
    tables.feed(page)
    return dist, page, tables


def inspect_runs(files: list[Path]) -> dict[str, bool | None]:
    """target -> runs, from `linkgate inspect` of every file: False if one fails, None if one is unknown."""
    result = run_linkgate("inspect", "--format", "json", *map(str, files))
    items = json.loads(result.stdout)
    runs: dict[str, bool | None] = {}
    for target in TARGETS:
        verdicts = [item["compatibility"][target]["runs"] for item in items]
        runs[target] = False if False in verdicts else (None if None in verdicts else True)
    return runs


def cell_runs(cell: str) -> bool | None:
    return {"✓": True, "✗": False, "?": None}[cell[0]]


def reason(cell: str) -> str:
    """A cell's text without its mark (the reason sits on the line under it)."""
    return cell[1:].strip()


def row_of(tables: Tables, start: str) -> list[str]:
    return next(row for row in tables.rows if row[0].startswith(start))


def test_the_matrix_is_a_real_table_with_a_column_per_target(rendered: tuple[Path, str, Tables]) -> None:
    _, _, tables = rendered
    header, *rows = tables.rows
    assert header == ["Artifact", "Policy", *TARGETS]
    assert len(rows) == 4 and all(len(row) == len(header) for row in rows)


def test_each_cell_says_what_inspect_says(rendered: tuple[Path, str, Tables], tmp_path: Path) -> None:
    dist, _, tables = rendered
    for name in ("new", "old"):
        row = row_of(tables, f"dist/{name}")
        assert [cell_runs(c) for c in row[2:]] == list(inspect_runs([dist / name]).values()), name
    for wheel in sorted(dist.glob("*.whl")):
        members = list(unpack(wheel, tmp_path / wheel.stem).rglob("*.so"))
        row = row_of(tables, f"dist/{wheel.name.split('-')[0]}")
        assert [cell_runs(c) for c in row[2:]] == list(inspect_runs(members).values()), wheel.name


def test_cells_name_the_first_reason(rendered: tuple[Path, str, Tables]) -> None:
    _, _, tables = rendered
    new = dict(zip(tables.rows[0], row_of(tables, "dist/new"), strict=True))
    assert new["debian-11"][0] == "✗" and reason(new["debian-11"]) in ("GLIBC_2.34", "GLIBCXX_3.4.29")
    assert (new["debian-12"], new["rhel-9"], new["manylinux_2_34"]) == ("✓", "✓", "✓")
    assert new["alpine"] == "✗no ld-linux-x86-64.so.2"
    assert new["Policy"] == "❌max-glibc: GLIBC_2.34"
    old = row_of(tables, "dist/old")
    assert old[1:] == ["✅", *["✓"] * len(TARGETS)]


def test_long_wheel_names_are_shortened_and_findings_are_collapsed(rendered: tuple[Path, str, Tables]) -> None:
    dist, page, tables = rendered
    long_name = next(w.name for w in dist.glob("psutil-*.whl"))
    assert len(long_name) > 80
    assert row_of(tables, "dist/psutil")[0] == "dist/psutil-7.0.0-cp36…manylinux_2_12_x86_64.whl"
    # Collapsed: a <details> per failing artifact, closed (no `open`), its full name in the summary.
    assert "<details open" not in page
    assert any(s.endswith("dist/new: 2 error(s)") for s in tables.summaries), tables.summaries
    assert all(long_name not in row[0] for row in tables.rows)


def test_a_fix_shared_by_findings_is_written_once(tmp_path: Path) -> None:
    dist = build_dist(tmp_path)
    shutil.copy(dist / "new", dist / "new-again")
    _, markdown = summary_of(dist)
    fix = "build in an image whose glibc is <= 2.28"
    assert markdown.count(fix) == 1
    assert "**Fix:** as for `dist/new` above" in markdown


def test_screenshot_of_the_summary(rendered: tuple[Path, str, Tables], tmp_path: Path) -> None:
    """Chromium draws the page: a PNG of the requested size, not blank. LINKGATE_UPDATE_SCREENSHOT=1
    writes it as the README's picture."""
    _, page, _ = rendered
    png = tmp_path / "summary.png"
    screenshot(page, png, PICTURE_SIZE, require_tool("chromium"))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == PICTURE_SIZE
    # A blank page compresses to a few kB; the table, text and emoji do not.
    assert len(data) > 30_000
    if os.environ.get("LINKGATE_UPDATE_SCREENSHOT") == "1":
        shutil.copy(png, PICTURE)
    assert PICTURE.read_bytes()[:8] == data[:8]  # the README's picture is committed
