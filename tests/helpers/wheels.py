"""Real wheels for the loader-model tests and benchmarks/wheels_vs_auditwheel.py: pinned, downloaded
once with pip's ordinary client, cached under tests/.build/wheels, unpacked with zipfile.

Under CI a wheel that cannot be downloaded fails the test (require_wheel), locally it skips.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import BUILD_DIR, unavailable

WHEELS_DIR = BUILD_DIR / "wheels"
GLIBC_PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.11"


def download(spec: str, platform: str = GLIBC_PLATFORM, python: str = PYTHON_VERSION) -> Path | None:
    """The wheel of `spec` (`numpy==2.2.6`) for `platform` and `python`, from the cache or downloaded; None
    on failure."""
    directory = WHEELS_DIR / platform / spec.replace("==", "-")
    found = sorted(directory.glob("*.whl"))
    if found:
        return found[0]
    directory.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
               "--platform", platform, "--python-version", python, spec, "-d", str(directory)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    found = sorted(directory.glob("*.whl"))
    if result.returncode != 0 or not found:
        (directory / "error.txt").write_text(result.stderr[-4000:], encoding="utf-8")
        return None
    return found[0]


def require_wheel(spec: str, platform: str = GLIBC_PLATFORM, python: str = PYTHON_VERSION) -> Path:
    """Like require_tool: skip locally, fail under CI, when the wheel cannot be had."""
    wheel = download(spec, platform, python)
    if wheel is None:
        message = f"cannot download {spec} for {platform} (pip download failed; see tests/.build/wheels)"
        unavailable(message)
    return wheel


def unpack(wheel: Path, destination: Path) -> Path:
    """The wheel's files under `destination` (ELF modes kept executable, as pip installs them)."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            target = destination / info.filename
            if not target.resolve().is_relative_to(destination.resolve()):
                raise ValueError(f"{wheel.name}: {info.filename} leaves the unpack directory")
            archive.extract(info, destination)
            mode = info.external_attr >> 16
            if mode:
                target.chmod(mode & 0o755 | 0o600)
    return destination


# `auditwheel show` with the musl release it judges against pinned (argv: minor, wheel): it judges a
# musl wheel only against the musl of the machine it runs on (the newest it knows on a glibc host).
_SHOW_WITH_MUSL = """
import sys
from auditwheel import libc, main
real = libc.Libc.get_current_version
minor = int(sys.argv[1])
def pinned(self):
    return libc.LibcVersion(1, minor) if self is libc.Libc.MUSL else real(self)
libc.Libc.get_current_version = pinned
sys.argv = ["auditwheel", "show", sys.argv[2]]
sys.exit(main.main())
"""


def auditwheel_tag(wheel: Path) -> str | None:
    """The platform tag `auditwheel show` gives the wheel (manylinux_2_17_x86_64...), None when it has none.

    A musl wheel is shown against musl 1.1, then 1.2: the oldest musllinux tag it meets."""
    if "musllinux" not in wheel.name:
        return _show([sys.executable, "-m", "auditwheel", "show", str(wheel)])
    for minor in ("1", "2"):
        tag = _show([sys.executable, "-c", _SHOW_WITH_MUSL, minor, str(wheel)])
        if tag is not None and (tag.startswith("musllinux") or minor == "2"):
            return tag
    return None


def _show(command: list[str]) -> str | None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    text = " ".join(result.stdout.split())
    marker = 'is consistent with the following platform tag: "'
    if marker not in text:
        return None
    return text.split(marker, 1)[1].split('"', 1)[0]


def policy_order() -> list[str]:
    """auditwheel's manylinux and musllinux tags, oldest (most compatible) first."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("auditwheel")  # a test extra; only the oracle tests need it
    if spec is None or spec.origin is None:
        raise RuntimeError("auditwheel is not installed (pip install -e '.[test]')")
    data = Path(spec.origin).parent / "policy"
    names: list[str] = []
    for name in ("manylinux-policy.json", "musllinux-policy.json"):
        policies = json.loads((data / name).read_text(encoding="utf-8"))
        names += [p["name"] for p in sorted(policies, key=lambda p: -p["priority"]) if p["name"] != "linux"]
    return names
