"""Before a release is built: the tag, the version and CHANGELOG.md must agree, and the docs must pin it.

    python scripts/release_check.py v0.2.0     # exit 1 and say what disagrees

- the tag is `v` + linkgate.__version__ (the one place the version is written);
- CHANGELOG.md has a dated entry for it: `## [0.2.0] - 2026-12-05`;
- the docs that show how to pin linkgate (README, docs/ci.md, the example workflow, the GitLab
  component's header) name that tag, never another version.
The release workflow (.github/workflows/release.yml) runs it first; tests/integrations/test_release.py too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where users copy a pinned reference from: each `linkgate/linkgate@vX.Y.Z` or `rev: vX.Y.Z` there.
PINNING_DOCS = ("README.md", "docs/ci.md", "examples/github-workflow.yml", "templates/linkgate.yml")
PIN = re.compile(r"(?:linkgate/linkgate(?:/linkgate)?@|rev: )v?(\d+\.\d+\.\d+)")


def version() -> str:
    text = (ROOT / "linkgate" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if found is None:
        raise SystemExit("linkgate/__init__.py: no __version__ line")
    return found.group(1)


def problems(tag: str) -> list[str]:
    """What disagrees with releasing `tag` ([] when it can be released)."""
    current = version()
    found = []
    if tag != f"v{current}":
        found.append(f"tag {tag} is not v{current}, the version in linkgate/__init__.py")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    if not re.search(rf"^## \[{re.escape(current)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M):
        found.append(f"CHANGELOG.md has no dated entry `## [{current}] - YYYY-MM-DD`")
    found += stale_pins(current)
    return found


def stale_pins(current: str) -> list[str]:
    """Pinned references in the docs that name another version than `current`."""
    stale = []
    for name in PINNING_DOCS:
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1):
            stale += [f"{name}:{number}: pins {v}, not {current}" for v in PIN.findall(line) if v != current]
    return stale


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/release_check.py vX.Y.Z", file=sys.stderr)
        return 2
    found = problems(argv[0])
    for problem in found:
        print(f"release_check: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
