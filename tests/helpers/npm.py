"""Real npm packages for the tests: pinned, fetched once with npm's ordinary client (`npm pack`),
cached under tests/.build/npm, unpacked with tarfile.

Under CI a package that cannot be fetched fails the test (require_npm_package), locally it skips.
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from tests.helpers import BUILD_DIR, require_tool, unavailable

NPM_DIR = BUILD_DIR / "npm"


def require_npm_package(spec: str) -> Path:
    """The unpacked `package/` directory of `spec` (`@esbuild/linux-x64@0.28.2`)."""
    npm = require_tool("npm")
    directory = NPM_DIR / spec.replace("/", "+")
    unpacked = directory / "package"
    if unpacked.is_dir():
        return unpacked
    directory.mkdir(parents=True, exist_ok=True)
    command = [npm, "pack", "--silent", spec, "--pack-destination", str(directory)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    tarballs = sorted(directory.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        unavailable(f"cannot fetch npm package {spec}: {result.stderr[-2000:]}")
    with tarfile.open(tarballs[0]) as archive:
        archive.extractall(directory / "partial", filter="data")
    (directory / "partial" / "package").rename(unpacked)
    return unpacked
