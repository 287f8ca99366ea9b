"""Real Rust programs for the build-aware fix tests, built at test time with rustc and cached.

rustc signs `.comment` with `rustc version X.Y.Z (...)`: that is how linkgate tells a Rust
program from a C one. Two programs from tests/fixtures/src/rust:
- `rust-hello`: std, linked dynamically against this machine's glibc (needs GLIBC_2.34+);
- `rust-nss-static`: `-C target-feature=+crt-static` (a static glibc program) resolving a name,
  so glibc's NSS loads libnss_* at run time.
Recipes go through tests/helpers/binaries.py, so each binary is rebuilt only when its source or command change.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import unavailable
from tests.helpers.binaries import SRC, Recipe, build

RUST_SRC = SRC / "rust"


def rustc() -> str:
    """rustc on PATH, else rustup's default place; skip locally, fail under CI=true, when missing."""
    found = shutil.which("rustc") or next(
        (str(p) for p in (Path.home() / ".cargo" / "bin" / "rustc",) if p.is_file()), None
    )
    if found is None:
        unavailable("required tool 'rustc' is not installed (see .ci/run)")
    return found


def recipes(compiler: str) -> dict[str, Recipe]:
    hello, nss = RUST_SRC / "hello.rs", RUST_SRC / "nss.rs"
    result = [
        Recipe("rust-hello", "rustc", (compiler, "-O", "-o", "{out}", str(hello)), (hello,)),
        Recipe(
            "rust-nss-static", "rustc",
            (compiler, "-O", "-C", "target-feature=+crt-static", "-o", "{out}", str(nss)), (nss,),
        ),
    ]  # fmt: skip
    return {recipe.name: recipe for recipe in result}


def build_all(build_dir: Path) -> dict[str, Path]:
    return {name: build(recipe, build_dir) for name, recipe in recipes(rustc()).items()}
