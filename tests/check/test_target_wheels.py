"""The loader model across files, on real wheels: shipped libraries, inherited RPATH, musl binding.

Wheels are pinned, downloaded once (tests/helpers/wheels.py) and unpacked with zipfile. The oracles:
`auditwheel show` (its tag must be the oldest manylinux/musllinux profile linkgate passes), the real
glibc loader (`/lib64/ld-linux-x86-64.so.2 --list FILE`, no LD_LIBRARY_PATH) and the real musl loader
(Debian's `musl` package, `/lib/ld-musl-x86_64.so.1 --list FILE`): what they cannot find is what
linkgate reports missing.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from linkgate.check.discover import discover
from linkgate.check.scan import ScanOptions
from linkgate.core.findings import Finding
from linkgate.core.site import expand_entry
from linkgate.policy.loader import load_policy
from linkgate.policy.locate import preset_names, presets_dir
from linkgate.policy.targets import aliases, shipped_names
from tests.helpers import require_tool, unavailable
from tests.helpers.scan import check_all
from tests.helpers.wheels import auditwheel_tag, policy_order, require_wheel, unpack

GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2"
MUSL_LOADER = "/lib/ld-musl-x86_64.so.1"
MUSL = "musllinux_1_2_x86_64"
# Small repaired wheels: each ships libraries in PKG.libs/ and loads them through RPATH $ORIGIN/../PKG.libs.
REPAIRED = ("shapely==2.1.1", "pyzmq==26.4.0", "psycopg2-binary==2.9.10")
# glibc builds that import glibc-only functions (musl binds by name and has none of them), as the
# real musl loader names them for these pinned versions.
GLIBC_ONLY = {
    "uvloop==0.21.0": {"__register_atfork", "gnu_get_libc_version"},
    "lxml==5.4.0": {"__isinf", "__isnan"},
    "psutil==7.0.0": {"__sched_cpualloc", "__sched_cpufree"},
    "PyYAML==6.0.2": {"__strdup"},
}


# musllinux wheels whose extension needs the bare `libc.so` (orjson is built by maturin/Rust).
NEEDS_BARE_LIBC = {"orjson==3.10.18"}


def findings(tree: Path, policy: str) -> list[Finding]:
    options = ScanOptions(policy=load_policy(policy, Path.cwd()), today=datetime.date.today())
    results = [r for r in check_all(discover([str(tree)]), options) if r is not None]
    return [f for r in results for f in r.findings if not f.waived_by]


def lowest_passing(tree: Path, family: str) -> str | None:
    return next((n for n in policy_order() if n.startswith(family) and not findings(tree, n)), None)


def unpacked(spec: str, tmp_path: Path, platform: str | None = None) -> Path:
    wheel = require_wheel(spec, platform) if platform else require_wheel(spec)
    return unpack(wheel, tmp_path / spec.split("==", maxsplit=1)[0])


def require_file(path: str) -> None:
    if not os.path.exists(path):
        message = f"{path} is missing (Debian packages libc6 / musl, see scripts/test.sh)"
        unavailable(message)


def loader_list(loader: str, path: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LD_")}
    return subprocess.run([loader, "--list", str(path)], capture_output=True, text=True, env=environment, check=False)


def glibc_not_found(path: Path) -> set[str]:
    """Names the real glibc loader cannot find for `path`: ldd's `=> not found`, or the error that stops it."""
    result = loader_list(GLIBC_LOADER, path)
    missing = set(re.findall(r"^\s*(\S+) => not found", result.stdout, re.M))
    return missing | set(re.findall(r"error while loading shared libraries: ([^:]+): cannot open", result.stderr))


def musl_unbound(path: Path) -> set[str]:
    """Symbols the real musl loader cannot bind (`Error relocating F: SYM: symbol not found`)."""
    output = loader_list(MUSL_LOADER, path).stderr
    return set(re.findall(r"Error relocating [^:]+: ([^:]+): symbol not found", output))


def extensions(tree: Path) -> list[Path]:
    """The wheel's own shared objects (extension modules, cpython-311 or abi3), not those in PKG.libs/."""
    return sorted(p for p in tree.rglob("*.so") if not p.parent.name.endswith(".libs"))


def agrees(tag: str | None, lowest: str | None) -> bool:
    """auditwheel's tag is the oldest profile linkgate passes; `linux_*` when linkgate passes none."""
    return (tag or "").startswith(f"{lowest}_" if lowest else "linux_")


# --- 1. libraries shipped in PKG.libs/ ----------------------------------------------------------


@pytest.mark.parametrize("spec", REPAIRED)
def test_repaired_wheel_passes_its_tag_and_agrees_with_auditwheel(spec: str, tmp_path: Path) -> None:
    tree = unpacked(spec, tmp_path)
    assert list(tree.glob("*.libs/*.so*")), "the wheel ships libraries"
    for preset in ("manylinux2014", "manylinux_2_17"):
        assert findings(tree, preset) == [], preset
    wheel = require_wheel(spec)
    assert agrees(auditwheel_tag(wheel), lowest_passing(tree, "manylinux"))


def test_allowed_needed_accepts_what_the_loader_finds_among_the_checked_files(tmp_path: Path) -> None:
    tree = unpacked("pyzmq==26.4.0", tmp_path)
    policy = tmp_path / "allowed.yml"
    allowed = (
        '["libc.so.6", "libm.so.6", "libpthread.so.0", "librt.so.1", "ld-linux-*", "libstdc++.so.6", "libgcc_s.so.1"]'
    )
    policy.write_text(f"rules:\n  allowed-needed: {allowed}\n")
    shipped = {p.name for p in tree.glob("pyzmq.libs/*.so*")}
    assert findings(tree, str(policy)) == []
    # The same extension without its shipped libraries: each is a finding, with the repair hint.
    shutil.rmtree(next(tree.glob("pyzmq.libs")))
    found = findings(tree, str(policy))
    assert {f.subject for f in found if f.rule == "allowed-needed"} >= shipped & {f.subject for f in found}
    assert found and all("auditwheel repair" in f.hint for f in found)


def test_every_alias_and_preset_means_one_definition() -> None:
    """A preset named like a profile or alias is exactly that profile; alias and name give equal policies."""
    index = aliases(presets_dir())
    names = set(shipped_names(presets_dir()))
    for preset in preset_names():
        canonical = index.get(preset, preset)
        if canonical in names:
            assert load_policy(preset, Path.cwd()).values == {"target": canonical}, preset
    for alias, name in index.items():
        assert load_policy(alias, Path.cwd()).values == load_policy(name, Path.cwd()).values, alias


# --- 2. DT_RPATH inherited along the load chain ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec", "library", "extension"),
    [("pillow==12.0.0", "libbrotlicommon", "_imagingft"), ("scipy==1.16.0", "libquadmath", "_fitpack.")],
)
def test_inherited_rpath_finds_what_the_loader_finds(spec: str, library: str, extension: str, tmp_path: Path) -> None:
    require_file(GLIBC_LOADER)
    tree = unpacked(spec, tmp_path)
    root = next(p for p in extensions(tree) if p.name.startswith(extension))
    assert glibc_not_found(root) == set(), "the real loader finds everything through the inherited RPATH"
    assert findings(tree, "manylinux_2_17") == []
    # Remove the library the chain needs: the loader and linkgate now both miss it, naming the chain.
    # The name the chain needs (scipy also ships a second, renamed copy that nothing needs).
    removed = min(tree.glob(f"*.libs/{library}*"), key=lambda p: len(p.name))
    removed.unlink()
    assert glibc_not_found(root) == {removed.name}
    missing = [f for f in findings(tree, "manylinux_2_17") if f.subject == removed.name]
    assert missing, "linkgate misses what the loader misses"
    assert any("loaded by" in f.message and "via RPATH $ORIGIN/../" in f.message for f in missing), missing


def test_library_judged_alone_without_a_loader_uses_only_its_own_search_path(tmp_path: Path) -> None:
    """A checked library no checked file loads is judged as loaded first: no RPATH is inherited."""
    tree = unpacked("pillow==12.0.0", tmp_path)
    libs = next(tree.glob("pillow.libs"))
    alone = tmp_path / "alone"
    alone.mkdir()
    for name in ("libbrotlidec", "libbrotlicommon"):
        shutil.copy(next(libs.glob(f"{name}-*")), alone)
    found = findings(alone, "manylinux_2_17")
    assert [f.subject for f in found] == [next(libs.glob("libbrotlicommon-*")).name]
    assert "loaded by" not in found[0].message


def test_origin_lib_and_platform_expand_like_glibc() -> None:
    assert expand_entry("$ORIGIN/../x.libs", "/w/pkg", "x86_64", 64) == ("/w/x.libs",)
    assert expand_entry("${ORIGIN}/$LIB", "/w", "x86_64", 64) == ("/w/lib64", "/w/lib")
    assert expand_entry("/opt/$PLATFORM", None, "i386", 32)[0] == "/opt/i686"
    assert expand_entry("lib", "/w", "x86_64", 64) == ()  # relative: the working directory decides


# --- 3. musl binds symbols by name -----------------------------------------------------------------


@pytest.mark.parametrize("spec", sorted(GLIBC_ONLY))
def test_musl_target_catches_glibc_only_symbols_like_the_musl_loader(spec: str, tmp_path: Path) -> None:
    """Alpine's musl answers libc.so.6 itself, then binds by name: what it cannot bind, linkgate names."""
    require_file(MUSL_LOADER)
    tree = unpacked(spec, tmp_path)
    found = [f for f in findings(tree, "alpine") if f.subject == "symbol-binding"]
    reported = {s for f in found for s in f.symbols}
    assert GLIBC_ONLY[spec] <= reported
    loader_says: set[str] = set()
    for extension in extensions(tree):
        # The Python API comes from the interpreter that loads the extension: not a library's to export.
        loader_says |= {s for s in musl_unbound(extension) if not s.startswith(("Py", "_Py"))}
    assert reported == loader_says
    # The musllinux tags too: musl's loader answers libc.so.6 with itself whatever the tag's whitelist
    # says, so a glibc build fails there on the same symbols, never on a missing libc.so.6.
    tag = [f for f in findings(tree, "musllinux_1_2") if f.subject == "symbol-binding"]
    assert {s for f in tag for s in f.symbols} == loader_says
    subjects = {f.subject for f in findings(tree, "musllinux_1_2")}
    assert not any(s.startswith(("libc.so", "libm.so", "libpthread.so")) for s in subjects), subjects


@pytest.mark.parametrize("spec", ["MarkupSafe==3.0.2", "orjson==3.10.18", "numpy==2.2.6"])
def test_musllinux_wheel_passes_musllinux_and_agrees_with_auditwheel(spec: str, tmp_path: Path) -> None:
    require_file(MUSL_LOADER)
    tree = unpacked(spec, tmp_path, MUSL)
    for extension in extensions(tree):
        assert {s for s in musl_unbound(extension) if not s.startswith(("Py", "_Py"))} == set(), extension
    wheel = require_wheel(spec, MUSL)
    tag, lowest = auditwheel_tag(wheel), lowest_passing(tree, "musllinux")
    if spec in NEEDS_BARE_LIBC:
        # Its extension needs `libc.so`, which musl's loader answers with itself (a reserved name) and
        # auditwheel's whitelist does not list: linkgate follows the loader, auditwheel says linux_*.
        assert tag == "linux_x86_64" and lowest is not None
        return
    assert agrees(tag, lowest)


def test_musl_build_on_a_glibc_target_is_not_told_to_ship_musl(tmp_path: Path) -> None:
    tree = unpacked("MarkupSafe==3.0.2", tmp_path, MUSL)
    glibc = [f for f in findings(tree, "manylinux_2_17") if f.subject.startswith("libc.musl-")]
    assert glibc and all("cannot be shipped" in f.hint and "ship libc.musl" not in f.hint for f in glibc)


# --- 4. an unrepaired local build -----------------------------------------------------------------


def test_unrepaired_extension_with_a_build_dir_runpath(tmp_path: Path) -> None:
    gcc = require_tool("gcc")
    build = tmp_path / "build"
    build.mkdir()
    (build / "foo.c").write_text("int foo(void) { return 42; }\n")
    (build / "ext.c").write_text("int foo(void);\nint PyInit_ext(void) { return foo(); }\n")
    subprocess.run([gcc, "-shared", "-fPIC", "-o", build / "libfoo.so", build / "foo.c"], check=True)
    wheel = tmp_path / "wheel"
    (wheel / "pkg").mkdir(parents=True)
    (wheel / "pkg-1.0.dist-info").mkdir()
    extension = wheel / "pkg" / "ext.cpython-311-x86_64-linux-gnu.so"
    link = [gcc, "-shared", "-fPIC", "-o", str(extension), str(build / "ext.c"), f"-L{build}", "-lfoo",
            f"-Wl,-rpath,{build}", "-Wl,--enable-new-dtags"]  # fmt: skip
    subprocess.run(link, check=True)
    assert glibc_not_found(extension) == set()  # on the build machine the RUNPATH finds it
    found = findings(wheel, "manylinux2014")
    assert [f.subject for f in found] == ["libfoo.so"]
    assert "cannot open shared object file" in found[0].message
    assert "auditwheel repair" in found[0].hint
    assert str(build) not in found[0].message  # a RUNPATH into the build machine is the runpath rule's
