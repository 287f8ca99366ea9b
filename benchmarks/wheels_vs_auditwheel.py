"""linkgate's lowest passing manylinux/musllinux target against `auditwheel show`, on real wheels.

For each pinned wheel (downloaded once with pip into tests/.build/wheels, unpacked with zipfile):
the tag `auditwheel show` reports, and the oldest shipped profile of the same family (manylinux_*
or musllinux_*, in auditwheel's priority order) under which `linkgate check` passes the unpacked
wheel. Prints a Markdown table and the agreement count; exit 1 on any disagreement.

    python -m benchmarks.wheels_vs_auditwheel            # the whole list
    python -m benchmarks.wheels_vs_auditwheel numpy lxml # names starting with these
"""

from __future__ import annotations

import datetime
import sys
import tempfile
from pathlib import Path

from linkgate.check.discover import discover
from linkgate.check.scan import ScanOptions
from linkgate.core.findings import Severity
from linkgate.policy.loader import load_policy
from tests.helpers.scan import check_all
from tests.helpers.wheels import GLIBC_PLATFORM, auditwheel_tag, download, policy_order, unpack

MUSL_PLATFORM = "musllinux_1_2_x86_64"
# Popular wheels with compiled code, pinned; several ship libraries in PKG.libs/ (repaired),
# scipy and pillow rely on RPATH inherited along the load chain.
GLIBC_WHEELS = (
    "numpy==2.2.6", "scipy==1.16.0", "pillow==12.0.0", "pyarrow==20.0.0", "opencv-python-headless==4.11.0.86",
    "psycopg2-binary==2.9.10", "pyzmq==26.4.0", "lxml==5.4.0", "uvloop==0.21.0", "psutil==7.0.0",
    "PyYAML==6.0.2", "orjson==3.10.18", "ujson==5.10.0", "msgpack==1.1.0", "MarkupSafe==3.0.2",
    "charset-normalizer==3.4.2", "regex==2024.11.6", "pandas==2.3.0", "grpcio==1.73.0", "h5py==3.14.0",
    "shapely==2.1.1", "rapidfuzz==3.13.0", "aiohttp==3.12.13", "frozenlist==1.7.0", "multidict==6.5.0",
    "yarl==1.20.1", "cffi==1.17.1", "bcrypt==4.3.0", "PyNaCl==1.5.0", "zstandard==0.23.0", "lz4==4.4.4",
    "Brotli==1.1.0", "pycryptodome==3.23.0", "greenlet==3.2.3", "kiwisolver==1.4.8", "matplotlib==3.10.3",
    "contourpy==1.3.2", "scikit-learn==1.7.0", "pydantic-core==2.33.2", "xxhash==3.5.0", "mmh3==5.1.0",
    "SQLAlchemy==2.0.41", "pyodbc==5.2.0", "pyproj==3.7.1", "cryptography==45.0.4", "tokenizers==0.21.1",
)  # fmt: skip
MUSL_WHEELS = ("numpy==2.2.6", "msgpack==1.1.0", "ujson==5.10.0", "orjson==3.10.18", "MarkupSafe==3.0.2",
               "lxml==5.4.0", "pillow==12.0.0")  # fmt: skip


def passes(tree: Path, policy: str) -> bool:
    """`linkgate check --policy POLICY TREE` would exit 0 (evaluated in this process: no start-up per run)."""
    options = ScanOptions(policy=load_policy(policy, Path.cwd()), today=datetime.date.today())
    results = [r for r in check_all(discover([str(tree)]), options) if r is not None]
    return not any(f.severity is Severity.ERROR and not f.waived_by for r in results for f in r.findings)


def lowest_passing(tree: Path, family: str) -> str | None:
    """The oldest profile of `family` (manylinux / musllinux) under which linkgate passes the tree."""
    return next((n for n in policy_order() if n.startswith(family) and passes(tree, n)), None)


def compare(spec: str, platform: str) -> tuple[str, str, str, bool] | None:
    wheel = download(spec, platform)
    if wheel is None:
        print(f"# {spec} ({platform}): download failed", file=sys.stderr)
        return None
    expected = auditwheel_tag(wheel) or "-"
    family = "musllinux" if expected.startswith("musllinux") or "musllinux" in platform else "manylinux"
    with tempfile.TemporaryDirectory() as scratch:
        found = lowest_passing(unpack(wheel, Path(scratch)), family) or "-"
    # No passing profile agrees with auditwheel's `linux_*` (not a manylinux/musllinux wheel).
    agree = expected.startswith(f"{found}_") if found != "-" else expected.startswith("linux_")
    print(f"# {wheel.name}: auditwheel {expected}, linkgate {found}", file=sys.stderr, flush=True)
    return wheel.name, expected, found, agree


def main(argv: list[str]) -> int:
    wanted = [(s, GLIBC_PLATFORM) for s in GLIBC_WHEELS] + [(s, MUSL_PLATFORM) for s in MUSL_WHEELS]
    wanted = [w for w in wanted if not argv or w[0].lower().startswith(tuple(a.lower() for a in argv))]
    rows = [row for row in (compare(spec, platform) for spec, platform in wanted) if row is not None]
    print("| wheel | auditwheel show | linkgate lowest passing | agree |")
    print("|---|---|---|---|")
    for name, expected, found, agree in rows:
        print(f"| {name} | {expected} | {found} | {'yes' if agree else '**no**'} |")
    agreed = sum(row[3] for row in rows)
    print(f"\n{agreed} of {len(rows)} wheels agree")
    return 0 if agreed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
