"""Android packages for the tests: APKs assembled with zipfile around aapt's manifest, `linkgate check`
with no policy, and npm packages packed once with npm's own client."""

from __future__ import annotations

import json
import struct
import subprocess
import zipfile
from pathlib import Path

from tests.conftest import run_linkgate
from tests.helpers import BUILD_DIR, require_tool, unavailable
from tests.helpers.android import binary_manifest

HERMETIC = {"LINKGATE_NO_CACHE": "1"}
ZIPALIGN_EXTRA = 0xD935  # the extra field zipalign pads with (id, size, alignment, zeros)


def no_policy_check(artifact: Path) -> tuple[int, list[dict[str, object]]]:
    """`linkgate check` with no policy (run where no linkgate.yml is found): Android packages get the preset."""
    result = run_linkgate("check", "--format", "json", str(artifact), cwd=artifact.parent, env=HERMETIC)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)["findings"]


def apk(tmp_path: Path, members: dict[str, Path], name: str = "app.apk", *, stored: bool = True,
        align16: bool = False, min_sdk: str | None = "21", manifest: bytes | None = None) -> Path:  # fmt: skip
    """An APK of a manifest (aapt's, of `min_sdk`, unless `manifest` gives its bytes), a dex and `members`;
    .so members stored (or deflated), optionally padded so that their data starts at a 16 KiB offset
    (zipalign's own extra field)."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        manifest = binary_manifest(min_sdk) if manifest is None else manifest
        archive.writestr("AndroidManifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("classes.dex", b"dex\n035\x00" + bytes(500), zipfile.ZIP_DEFLATED)
        for member, library in members.items():
            info = zipfile.ZipInfo(member, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            if align16:
                start = archive.fp.tell() + 30 + len(member.encode()) + 6  # type: ignore[union-attr]
                pad = -start % 16384
                info.extra = struct.pack("<HHH", ZIPALIGN_EXTRA, 2 + pad, 16384) + bytes(pad)
            archive.writestr(info, library.read_bytes())
    return path


def by_rule(findings: list[dict[str, object]], rule: str) -> list[dict[str, object]]:
    """The rule's findings, but for the package's minSdk (tests/rules/test_android_manifest.py tests those)."""
    return [f for f in findings if f["rule"] == rule and f["subject"] != "minSdk"]


def npm_package(spec: str) -> Path:
    """The npm package `spec` (`name@version`), packed once with npm's own client into tests/.build/npm."""
    name, version = spec.rsplit("@", 1)
    directory = BUILD_DIR / "npm"
    file_name = f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if (directory / file_name).is_file():
        return directory / file_name
    directory.mkdir(parents=True, exist_ok=True)
    npm = require_tool("npm")
    result = subprocess.run([npm, "pack", spec], cwd=directory, capture_output=True, text=True, timeout=600,
                            check=False)  # fmt: skip
    if result.returncode != 0 or not (directory / file_name).is_file():
        unavailable(f"npm pack {spec} failed: {result.stderr[-500:]}")
    return directory / file_name
