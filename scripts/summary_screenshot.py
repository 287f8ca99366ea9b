"""A step summary as GitHub shows it: GFM rendered by cmark-gfm, photographed by headless Chromium.

Used by tests/formats/test_step_summary.py and to refresh the README's picture:
    python -m scripts.summary_screenshot SUMMARY.md OUT.png [WIDTH HEIGHT]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

# GFM as github.com enables it; raw HTML (<details>) is kept, as GitHub keeps it.
EXTENSIONS = ("table", "strikethrough", "autolink", "tagfilter")
# Close to github.com's rendering of tables and <details>, without its stylesheets.
_STYLE = """
body { font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif,
       "Noto Color Emoji"; color: #1f2328; margin: 16px; }
h3 { font-size: 1.25em; margin: 0 0 8px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 12px; }
th, td { border: 1px solid #d1d9e0; padding: 3px 6px; white-space: nowrap; }
tr:nth-child(2n) { background: #f6f8fa; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; background: #eff1f3; padding: 1px 4px;
       border-radius: 4px; }
details { margin: 4px 0; }
"""
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip


def to_html(markdown: str, cmark: str = "cmark-gfm") -> str:
    """The body GitHub would show for `markdown` (cmark-gfm, GitHub's own parser), in a page."""
    options = [arg for extension in EXTENSIONS for arg in ("-e", extension)]
    body = subprocess.run(
        [cmark, *options, "--unsafe"], input=markdown, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return f'<!doctype html><html><head><meta charset="utf-8"><style>{_STYLE}</style></head><body>{body}</body></html>'


def screenshot(html: str, png: Path, size: tuple[int, int], chromium: str = "chromium") -> None:
    """`html` as a `size` PNG, by a headless Chromium with a new, empty profile and no network of its own."""
    with tempfile.TemporaryDirectory() as work:
        page = Path(work) / "summary.html"
        page.write_text(html, encoding="utf-8")
        profile = Path(work) / "profile"
        profile.mkdir()
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                   "--hide-scrollbars", f"--screenshot={png}", page.as_uri()]  # fmt: skip
        subprocess.run(command, capture_output=True, check=True, timeout=180)


def main(argv: list[str]) -> int:
    summary, png = Path(argv[0]), Path(argv[1])
    size = (int(argv[2]), int(argv[3])) if len(argv) == 4 else (1500, 720)
    screenshot(to_html(summary.read_text(encoding="utf-8")), png, size)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
