"""The machine floors against the real refusers (docs/machine-floors.md).

- CPU level: binaries marked `-Wl,-z,x86-64-vN` run by glibc's loader under qemu-user with
  older CPU models (qemu64 = baseline, Nehalem = v2, Haswell = v3) until it prints `CPU ISA
  level is lower than required`; a Go GOAMD64=v3 program under the same CPUs.
- Kernel: static programs linked against Debian 11's glibc 2.31 and this machine's glibc, run
  under `setarch --uname-2.6` until `FATAL: kernel too old`; Go 1.15 and 1.19 programs.
- Page size: aarch64 programs linked with max-page-size 4/16/64 KiB, run by Debian's aarch64
  glibc loader under qemu-aarch64 with 4/16/64 KiB pages (`-p`) until it refuses the file.

linkgate's verdict (max-isa, min-kernel, page-size, and the target rule's machine floors)
must refuse exactly what the oracle refuses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from linkgate.core.site import NOWHERE
from linkgate.elf.floors import go_kernel_floor
from linkgate.elf.reader import read_elf
from linkgate.profiles.files import read_profile
from linkgate.profiles.index import TargetIndex
from linkgate.rules.schema import parse_version
from linkgate.rules.target import verdict
from scripts import debian_roots
from tests.helpers import BUILD_DIR, REPO, require_module, require_tool, unavailable
from tests.helpers.binaries import SRC, Recipe, build

ISA_LEVELS = ("x86-64-baseline", "x86-64-v2", "x86-64-v3", "x86-64-v4")
# qemu CPU models and the x86-64 level each reaches.
QEMU_CPUS = {"qemu64": "x86-64-baseline", "Nehalem": "x86-64-v2", "Haswell": "x86-64-v3"}
PAGE_SIZES = (4096, 16384, 65536)
OUT = BUILD_DIR / "machine-floors"
PROGRAM = "int main(void) { return 0; }\n"


def _source() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "main.c"
    if not path.is_file() or path.read_text() != PROGRAM:
        path.write_text(PROGRAM)
    return path


def _recipe(name: str, tool: str, *argv: str) -> Path:
    source = _source()
    return build(Recipe(name, tool, (*argv, "-o", "{out}", str(source)), (source,)), OUT)


@pytest.fixture(scope="module")
def isa_binaries() -> dict[str, Path]:
    require_tool("gcc")
    # binutils 2.40 aborts on -z x86-64-baseline; crt1.o marks an unmarked program baseline anyway.
    marked = {level: _recipe(f"isa-{level}", "gcc", "gcc", "-O2", f"-Wl,-z,{level}") for level in ISA_LEVELS[1:]}
    marked["unmarked"] = _recipe("isa-unmarked", "gcc", "gcc", "-O2")
    return marked


def _linkgate_fails(tmp_path: Path, rule: str, *files: Path) -> dict[Path, bool]:
    """Whether `check` with only `rule` fails each file (one run per file: exit code per file)."""
    policy = tmp_path / "floors.yml"
    # One rule (`max-isa: x86-64-v2`) or a flow mapping of several.
    policy.write_text(f"rules: {rule}\n" if rule.startswith("{") else f"rules:\n  {rule}\n", encoding="utf-8")
    result = {}
    for path in files:
        run = subprocess.run(
            [sys.executable, "-m", "linkgate", "check", "--policy", str(policy), str(path)],
            capture_output=True, text=True, check=False, env={"PYTHONPATH": str(REPO), "LINKGATE_NO_CACHE": "1"},
        )  # fmt: skip
        assert run.returncode in (0, 1), run.stderr
        result[path] = run.returncode == 1
    return result


def _qemu_refuses_cpu(cpu: str, path: Path) -> bool:
    run = subprocess.run(
        [require_tool("qemu-x86_64"), "-cpu", cpu, str(path)], check=False, capture_output=True, text=True
    )
    refused = "CPU ISA level is lower than required" in run.stderr or "microarchitecture support" in run.stderr
    assert refused or run.returncode == 0, run.stderr
    return refused


def test_isa_note_reads_as_readelf_prints_it(isa_binaries: dict[str, Path]) -> None:
    readelf = require_tool("readelf")
    for path in isa_binaries.values():
        notes = subprocess.run([readelf, "-nW", str(path)], capture_output=True, text=True, check=True).stdout
        printed = next(line.split(":", 2)[2].strip() for line in notes.splitlines() if "x86 ISA needed" in line)
        isa = read_elf(path).isa
        assert isa is not None
        assert ", ".join(isa.needed) == printed


@pytest.mark.parametrize("cpu", sorted(QEMU_CPUS))
def test_max_isa_refuses_what_the_loader_refuses(isa_binaries: dict[str, Path], tmp_path: Path, cpu: str) -> None:
    level = QEMU_CPUS[cpu]
    verdicts = _linkgate_fails(tmp_path, f"max-isa: {level}", *isa_binaries.values())
    oracle = {path: _qemu_refuses_cpu(cpu, path) for path in isa_binaries.values()}
    assert verdicts == oracle
    assert any(oracle.values())  # every model lacks x86-64-v4 at least


def test_target_names_the_cpu_baseline(isa_binaries: dict[str, Path]) -> None:
    """rhel-9 runs on x86-64-v2 CPUs (its glibc needs v2), rhel-10 on v3: a v3 binary fails only rhel-9."""
    rhel9, rhel10 = (_shipped(name) for name in ("rhel-9", "rhel-10"))
    facts = read_elf(isa_binaries["x86-64-v3"])
    assert "x86-64-v3" in verdict(facts, rhel9, NOWHERE).missing
    assert "x86-64-v3" not in verdict(facts, rhel10, NOWHERE).missing
    assert _qemu_refuses_cpu("Nehalem", isa_binaries["x86-64-v3"])  # a v2 CPU, as rhel-9 allows


def test_go_amd64_level_is_read_from_the_build_info(tmp_path: Path) -> None:
    require_tool("go")
    tiny = SRC / "go" / "tiny"
    inputs = tuple(sorted(p for p in tiny.rglob("*") if p.is_file()))
    env = (("GOCACHE", "{build}/go-cache"), ("GOFLAGS", "-buildvcs=false"), ("CGO_ENABLED", "0"), ("GOAMD64", "v3"))
    path = build(
        Recipe("go-goamd64-v3", "go", ("go", "build", "-trimpath", "-o", "{out}", "."), inputs, env, tiny), OUT
    )
    verdicts = _linkgate_fails(tmp_path, "max-isa: x86-64-v2", path)
    assert verdicts[path] is _qemu_refuses_cpu("Nehalem", path) is True
    assert not _qemu_refuses_cpu("Haswell", path)


@pytest.fixture(scope="module")
def static_programs() -> dict[str, Path]:
    """A static program linked against Debian 11's glibc 2.31 (its libc6-dev and GCC 10's libgcc,
    as GCC 12's libgcc_eh needs glibc 2.35's _dl_find_object), and one against this machine's glibc."""
    require_tool("gcc")
    try:
        root = debian_roots.fetch_packages(
            "bullseye", ("libc6-dev", "libc6", "libgcc-10-dev"), debian_roots.CACHE / "bullseye-libc6-dev"
        )
    except (OSError, subprocess.CalledProcessError) as error:
        unavailable(f"Debian 11's libc6-dev could not be fetched: {error}")
    lib, gcc10 = root / "usr" / "lib" / "x86_64-linux-gnu", root / "usr" / "lib" / "gcc" / "x86_64-linux-gnu" / "10"
    argv = ("gcc", "-static", "-nostdlib", str(lib / "crt1.o"), str(lib / "crti.o"), str(gcc10 / "crtbeginT.o"),
            f"-L{gcc10}", f"-L{lib}", "-Wl,--start-group", "-lc", "-lgcc", "-lgcc_eh", "-Wl,--end-group",
            str(gcc10 / "crtend.o"), str(lib / "crtn.o"))  # fmt: skip
    return {
        "glibc-2.31": _recipe("static-glibc-2.31", "gcc", *argv),
        "host-glibc": _recipe("static-host-glibc", "gcc", "gcc", "-static"),
    }


def _refused_by_old_kernel(path: Path) -> bool:
    run = subprocess.run(
        [require_tool("setarch"), "--uname-2.6", str(path)], check=False, capture_output=True, text=True
    )
    refused = "FATAL: kernel too old" in run.stderr
    assert refused or run.returncode == 0, run.stderr
    return refused


def test_min_kernel_refuses_what_the_static_glibc_refuses(static_programs: dict[str, Path], tmp_path: Path) -> None:
    oracle = {path: _refused_by_old_kernel(path) for path in static_programs.values()}
    assert oracle == {static_programs["glibc-2.31"]: True, static_programs["host-glibc"]: False}
    assert _linkgate_fails(tmp_path, 'min-kernel: "2.6.32"', *static_programs.values()) == oracle
    rhel6 = _shipped("rhel-6")
    for path, refused in oracle.items():
        assert ("Linux 3.2.0" in verdict(read_elf(path), rhel6, NOWHERE).missing) is refused


def test_go_runtime_kernel_floor_by_release(go119: dict[str, Path]) -> None:
    from linkgate.elf.floors import effective_kernel_floor, with_go_build_info  # noqa: PLC0415

    path = go119["go119-kafka-pure"]
    facts = with_go_build_info(str(path), read_elf(path))
    floor = effective_kernel_floor(facts)
    assert floor is not None and (floor.version, floor.source) == ((2, 6, 32), "go-runtime")


def test_go115_runtime_kernel_floor() -> None:
    from linkgate.elf.floors import effective_kernel_floor  # noqa: PLC0415
    from tests.helpers import go_builds  # noqa: PLC0415

    require_tool("go")
    try:
        go = go_builds.go115_root() / "bin" / "go"
    except (OSError, subprocess.CalledProcessError) as error:
        unavailable(f"Debian 11's Go 1.15 could not be fetched: {error}")
    path = build(go_builds.go_recipe("go115-floor-tiny", "tiny", go=str(go), env=(("CGO_ENABLED", "0"),)), OUT)
    floor = effective_kernel_floor(read_elf(path))
    assert floor is not None and (floor.version, floor.source) == ((2, 6, 23), "go-runtime")


@pytest.fixture(scope="module")
def aarch64_programs() -> dict[int, Path]:
    require_module("ziglang")
    zig = (sys.executable, "-m", "ziglang", "cc", "-target", "aarch64-linux-gnu.2.34")
    return {
        size: _recipe(f"aarch64-page-{size}", "ziglang", *zig, f"-Wl,-z,max-page-size={size}") for size in PAGE_SIZES
    }


@pytest.fixture(scope="module")
def aarch64_glibc() -> Path:
    try:
        return debian_roots.fetch_packages(
            "bookworm", ("libc6",), debian_roots.CACHE / "bookworm-arm64-libc6", architecture="arm64"
        )
    except (OSError, subprocess.CalledProcessError) as error:
        unavailable(f"Debian 12's arm64 libc6 could not be fetched: {error}")


def _loader_refuses_pages(root: Path, page_size: int, path: Path) -> bool:
    """glibc's aarch64 loader under qemu-user, which reports `page_size` as the page size (AT_PAGESZ)."""
    loader, libs = root / "lib" / "ld-linux-aarch64.so.1", root / "lib" / "aarch64-linux-gnu"
    argv = [require_tool("qemu-aarch64"), "-p", str(page_size), "-L", str(root), str(loader), "--library-path",
            str(libs), str(path)]  # fmt: skip
    run = subprocess.run(argv, check=False, capture_output=True, text=True)
    refused = "ELF load command" in run.stderr and "aligned" in run.stderr
    assert refused or run.returncode == 0, run.stderr
    return refused


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_page_size_refuses_what_the_loader_refuses(
    aarch64_programs: dict[int, Path], aarch64_glibc: Path, tmp_path: Path, page_size: int
) -> None:
    oracle = {path: _loader_refuses_pages(aarch64_glibc, page_size, path) for path in aarch64_programs.values()}
    assert oracle == {path: built < page_size for built, path in aarch64_programs.items()}
    assert _linkgate_fails(tmp_path, f"page-size: {{aarch64: {page_size}}}", *aarch64_programs.values()) == oracle


def test_load_alignment_is_the_loader_rule_on_readelf_columns(aarch64_programs: dict[int, Path]) -> None:
    """glibc (elf/dl-load.c): p_align and p_vaddr - p_offset of every PT_LOAD are multiples of the page size."""
    readelf = require_tool("readelf")
    for path in aarch64_programs.values():
        table = subprocess.run([readelf, "-lW", str(path)], capture_output=True, text=True, check=True).stdout
        loads = [line.split() for line in table.splitlines() if line.strip().startswith("LOAD")]
        fits = [p for p in (2**k for k in range(10, 21)) if all(_fits(row, p) for row in loads)]
        alignment = read_elf(path).load_alignment
        assert alignment is not None and alignment.max_page_size == max(fits)


def _fits(row: list[str], page: int) -> bool:
    offset, vaddr, align = int(row[1], 16), int(row[2], 16), int(row[-1], 16)
    return align % page == 0 and (vaddr - offset) % page == 0


def test_rhel9_aarch64_ships_a_64k_kernel(aarch64_programs: dict[int, Path]) -> None:
    rhel9 = _shipped("rhel-9")
    assert "65536-byte pages" in verdict(read_elf(aarch64_programs[4096]), rhel9, NOWHERE).missing
    assert "65536-byte pages" not in verdict(read_elf(aarch64_programs[65536]), rhel9, NOWHERE).missing


def _shipped(name: str) -> TargetIndex:
    return read_profile(REPO / "policies" / "profiles" / f"{name}.yml").index()


def test_diff_fails_a_rising_floor(isa_binaries: dict[str, Path], static_programs: dict[str, Path]) -> None:
    """diff-machine: baseline -> v3, and a static program whose glibc now checks the kernel, are worse."""
    cases = (
        (isa_binaries["unmarked"], isa_binaries["x86-64-v3"], 1),
        (isa_binaries["x86-64-v3"], isa_binaries["unmarked"], 0),
        (static_programs["host-glibc"], static_programs["glibc-2.31"], 1),
    )
    for old, new, expected in cases:
        run = subprocess.run(
            [sys.executable, "-m", "linkgate", "diff", "--format", "json", str(old), str(new)],
            capture_output=True, text=True, check=False, env={"PYTHONPATH": str(REPO), "LINKGATE_NO_CACHE": "1"},
        )  # fmt: skip
        failing = [f for f in json.loads(run.stdout)["findings"] if f["rule"] == "diff-machine" and f["fails"]]
        assert (run.returncode, bool(failing)) == (expected, bool(expected)), run.stdout


def test_default_preset_floors_fit_the_machines_of_its_glibc() -> None:
    """The default preset is portable to the glibc 2.28 generation: its floors reach down to the
    lowest CPU, oldest kernel and largest page size of every shipped profile of that glibc."""
    rules = yaml.safe_load((REPO / "policies" / "default.yml").read_text(encoding="utf-8"))["rules"]
    profiles = [read_profile(p) for p in sorted((REPO / "policies" / "profiles").glob("*.yml"))
                if p.name != "aliases.yml"]  # fmt: skip
    described = [p for p in profiles if p.libc and p.libc.version == rules["max-glibc"] and p.machine]
    assert described, "no shipped profile describes the default preset's machines"
    pages = rules["page-size"]
    for profile in described:
        machine = profile.machine
        assert machine is not None and machine.kernel is not None
        assert parse_version(rules["min-kernel"]) <= parse_version(machine.kernel), profile.name
        assert all(ISA_LEVELS.index(rules["max-isa"]) <= ISA_LEVELS.index(level) for level in machine.isa.values())
        for arch, sizes in machine.page_sizes.items():
            assert pages.get(arch, pages["any"]) >= max(sizes), (profile.name, arch)


def test_default_preset_floors_on_real_binaries(
    isa_binaries: dict[str, Path], aarch64_programs: dict[int, Path], aarch64_glibc: Path, tmp_path: Path
) -> None:
    """What the default's floors refuse, the oracles refuse on RHEL 8's machines (baseline CPUs,
    64 KiB pages on aarch64), and what they accept the oracles run."""
    rules = yaml.safe_load((REPO / "policies" / "default.yml").read_text(encoding="utf-8"))["rules"]
    floors = json.dumps({key: rules[key] for key in ("max-isa", "min-kernel", "page-size")})  # YAML flow style
    x86 = list(isa_binaries.values())
    verdicts = _linkgate_fails(tmp_path, floors, *x86, *aarch64_programs.values())
    for path in x86:
        assert verdicts[path] is _qemu_refuses_cpu("qemu64", path)
    for path in aarch64_programs.values():
        assert verdicts[path] is _loader_refuses_pages(aarch64_glibc, 65536, path)


@pytest.mark.parametrize("version", ["", "devel", "go", "gox.y"])
def test_a_go_version_that_names_no_release_has_no_runtime_floor(version: str) -> None:
    """A Go file whose build info is unknown (version "") or odd has no Go runtime floor, and no crash."""
    assert go_kernel_floor(version, "x86_64") is None
