"""Real Go binaries for the build-provenance tests, built at test time and cached.

Two toolchains write the two build-info formats Go's debug/buildinfo reads:
- Go 1.19 (the machine's `go`, Debian's golang-go): the 1.18+ inline format.
- Go 1.15 from Debian 11's own packages (golang-1.15-go, golang-1.15-src),
  fetched with apt into tests/.build like the Debian roots: the older format,
  two pointers to Go string headers, in the target's byte order.
Both build the same sources (tests/fixtures/src/go), natively and for a 32-bit
little-endian, a 32-bit big-endian and a 64-bit big-endian target.
The newest Go Debian packages (golang-1.27 from trixie-backports, fetched the
same way) builds the release-layout tests: the 1.26+ `.go.module` section,
GOAMD64 levels, PIE, and the header removed as some release pipelines do.

Recipes go through tests/helpers/binaries.py, so each binary is rebuilt only when its
sources or command change.
"""

from __future__ import annotations

from pathlib import Path

from scripts import debian_roots
from tests.helpers.binaries import SRC, Recipe, build

GO_SRC = SRC / "go"
MUSL_LDFLAGS = '-linkmode external -extldflags "-static"'
# GOARCH values: 32-bit little-endian, 32-bit big-endian, 64-bit big-endian.
CROSS = ("386", "mips", "ppc64")
GO115_PACKAGES = ("golang-1.15-go", "golang-1.15-src")
# The newest Go release Debian packages (backports of its stable release).
NEWEST_SUITE, NEWEST_GO = "trixie-backports", "1.27"
NEWEST_PACKAGES = (f"golang-{NEWEST_GO}-go", f"golang-{NEWEST_GO}-src")


def go115_root(cache: Path = debian_roots.CACHE) -> Path:
    """GOROOT of Debian 11's Go 1.15, fetched and unpacked on first use."""
    root = debian_roots.fetch_packages("bullseye", GO115_PACKAGES, cache / "bullseye-golang-1.15")
    return root / "usr" / "lib" / "go-1.15"


def newest_go_root(cache: Path = debian_roots.CACHE) -> Path:
    """GOROOT of the newest Go Debian packages, fetched and unpacked on first use."""
    base = cache / f"{NEWEST_SUITE}-golang-{NEWEST_GO}"
    root = debian_roots.fetch_packages(NEWEST_SUITE, NEWEST_PACKAGES, base)
    return root / "usr" / "lib" / f"go-{NEWEST_GO}"


def newest_recipes(goroot: Path) -> dict[str, Recipe]:
    """Builds of the newest Go: pure, cgo, PIE, and GOAMD64=v3 (the x86-64 level it records)."""
    go = str(goroot / "bin" / "go")
    cgo, no_cgo = ("CGO_ENABLED", "1"), ("CGO_ENABLED", "0")
    # Go >= 1.18 would stamp the repository's VCS state; a local toolchain only, never a download.
    modern = (("GOFLAGS", "-buildvcs=false"), ("GOTOOLCHAIN", "local"))
    result = [
        go_recipe("gonew-tiny", "tiny", go=go, env=(no_cgo, *modern)),
        go_recipe("gonew-tiny-v3", "tiny", go=go, env=(no_cgo, ("GOAMD64", "v3"), *modern)),
        go_recipe("gonew-tiny-pie", "tiny", "-buildmode=pie", go=go, env=(no_cgo, *modern)),
        go_recipe("gonew-kafka-cgo", "kafka-app", go=go, env=(cgo, *modern)),
        go_recipe("gonew-netcgo", "netcgo", go=go, env=(cgo, *modern)),
        go_recipe("gonew-tiny-arm64", "tiny", go=go, env=(no_cgo, ("GOARCH", "arm64"), *modern)),
        # Reproducible-build style: an empty build ID, so no Go build-ID note.
        go_recipe("gonew-tiny-nobuildid", "tiny", "-ldflags", "-buildid=", go=go, env=(no_cgo, *modern)),
    ]
    return {recipe.name: recipe for recipe in result}


def _sources(*packages: str) -> tuple[Path, ...]:
    return tuple(sorted(p for name in packages for p in (GO_SRC / name).rglob("*") if p.is_file()))


def go_recipe(name: str, package: str, *args: str, go: str = "go", env: tuple[tuple[str, str], ...] = ()) -> Recipe:
    """`go build ARGS` of tests/fixtures/src/go/PACKAGE; `go` may be another toolchain.

    `-trimpath` is added unless ARGS set -ldflags: Go records -ldflags in the
    build info only without -trimpath (the flags may hold paths).
    """
    inputs = _sources(package, "fake-kafka") if package == "kafka-app" else _sources(package)
    base_env: tuple[tuple[str, str], ...] = (
        ("GOCACHE", "{build}/go-cache"), ("GOPATH", "{build}/go-path"), ("GOPROXY", "off"),
    )  # fmt: skip
    if go == "go":
        # Go >= 1.18 would stamp the repository's VCS state (and fail without git).
        base_env += (("GOFLAGS", "-buildvcs=false"),)
    else:
        base_env += (("GOROOT", str(Path(go).parent.parent)),)
        base_env += () if any(key == "GOFLAGS" for key, _ in env) else (("GOFLAGS", ""),)
    trim = () if "-ldflags" in args else ("-trimpath",)
    argv = (go, "build", *trim, *args, "-o", "{out}", ".")
    return Recipe(name, "go", argv, inputs, (*base_env, *env), cwd=GO_SRC / package)


def recipes(go115: Path | None) -> dict[str, Recipe]:
    """Every binary the provenance tests use; the Go 1.15 ones only when that toolchain is given."""
    cgo, no_cgo = ("CGO_ENABLED", "1"), ("CGO_ENABLED", "0")
    musl = ("-tags", "musl", "-ldflags", MUSL_LDFLAGS)
    result = [
        go_recipe("go119-kafka-cgo", "kafka-app", env=(cgo,)),
        go_recipe("go119-kafka-pure", "kafka-app", env=(no_cgo,)),
        go_recipe("go119-kafka-musl", "kafka-app", *musl, env=(cgo, ("CC", "musl-gcc"))),
        # Reproducible-build style: an empty build ID, so no Go build-ID note.
        go_recipe("go119-kafka-cgo-nobuildid", "kafka-app", "-ldflags", "-buildid=", env=(cgo,)),
        go_recipe("go119-netcgo", "netcgo", env=(cgo,)),
        *(go_recipe(f"go119-tiny-{arch}", "tiny", env=(no_cgo, ("GOARCH", arch))) for arch in CROSS),
    ]
    if go115 is not None:
        go = str(go115 / "bin" / "go")
        result += [
            go_recipe("go115-kafka-cgo", "kafka-app", go=go, env=(cgo,)),
            go_recipe("go115-tiny-pie", "tiny", "-buildmode=pie", go=go, env=(no_cgo,)),
            *(go_recipe(f"go115-tiny-{a}", "tiny", go=go, env=(no_cgo, ("GOARCH", a))) for a in CROSS),
        ]
    return {recipe.name: recipe for recipe in result}


def build_all(build_dir: Path, go115: Path | None) -> dict[str, Path]:
    """Build (or reuse) every recipe, in order."""
    return {name: build(recipe, build_dir) for name, recipe in recipes(go115).items()}
