"""Archives built for the tests: by the real tools (zip, skopeo, umoci, pip) or by the stdlib writers
when the content is what matters (member modes, image layers); and the installers that unpack them."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.helpers import require_tool


def zip_with(path: Path, members: dict[str, tuple[bytes, int]]) -> Path:
    """A zip of `members`: name -> (data, Unix mode written in the external attributes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (data, mode) in members.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def real_zip(tmp_path: Path, binary: Path, name: str = "app.zip") -> Path:
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(binary, root / "bin/app")
    archive = tmp_path / name
    subprocess.run([require_tool("zip"), "-qr", str(archive), "."], cwd=root, check=True)
    return archive


def tar_with(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return path


def docker_archive(path: Path, layers: Sequence[Mapping[str, bytes | str]], manifest: object | None = None) -> Path:
    """A `docker save` tar of `layers` (member name -> bytes, or -> "link:TARGET"/"hard:TARGET")."""
    files: dict[str, bytes] = {}
    for index, layer in enumerate(layers):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in layer.items():
                info = tarfile.TarInfo(name)
                if isinstance(data, str):
                    kind, target = data.split(":", 1)
                    info.type = tarfile.SYMTYPE if kind == "link" else tarfile.LNKTYPE
                    info.linkname = target
                    tar.addfile(info)
                else:
                    info.size, info.mode = len(data), 0o755
                    tar.addfile(info, io.BytesIO(data))
        files[f"layer{index}/layer.tar"] = buffer.getvalue()
    diff_ids = [f"sha256:{hashlib.sha256(files[f'layer{i}/layer.tar']).hexdigest()}" for i in range(len(layers))]
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}}
    files["config.json"] = json.dumps(config).encode()
    entry = manifest or [{"Config": "config.json", "RepoTags": ["app:1"], "Layers": sorted(files)[1:]}]
    files["manifest.json"] = json.dumps(entry).encode()
    return tar_with(path, files)


def umoci_rootfs(image: Path, tmp_path: Path) -> Path:
    """The image unpacked as a runtime does: skopeo to an OCI layout, then umoci unpack."""
    skopeo, umoci = require_tool("skopeo"), require_tool("umoci")
    layout, bundle = tmp_path / "layout", tmp_path / "bundle"
    subprocess.run([skopeo, "copy", "-q", f"docker-archive:{image}", f"oci:{layout}:app"], check=True)
    subprocess.run([umoci, "unpack", "--rootless", "--image", f"{layout}:app", str(bundle)], check=True,
                   capture_output=True)  # fmt: skip
    return bundle / "rootfs"


def make_wheel(tmp_path: Path, tag: str, members: dict[str, tuple[bytes, int]], wheel_tag: str | None = None) -> Path:
    text = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {wheel_tag or tag}\n"
    everything = {
        **members,
        "demo-1.0.dist-info/WHEEL": (text.encode(), 0o644),
        "demo-1.0.dist-info/METADATA": (b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n", 0o644),
        "demo-1.0.dist-info/RECORD": (b"", 0o644),
    }
    return zip_with(tmp_path / f"demo-1.0-{tag}.whl", everything)


def pip_target(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", "-q",
                    "--target", str(target), str(built)], check=True, capture_output=True)  # fmt: skip
    return target
