"""max-versions: the newest version the artifact may need in any symbol-version namespace.

A mapping from namespace to limit: `{GLIBCXX: "3.4.28", CXXABI: "1.3.12", GCC: "7.0.0"}`;
any namespace works (ZLIB, OPENSSL, LIBATOMIC…; OpenSSL's 1_1_0 spelling too).
Versions compare numerically (2.9 < 2.17). Non-numeric tokens of a limited
namespace (CXXABI_TM_1, GLIBCXX_LDBL_3.4.7) fail unless listed in `allowed-tokens`.

The fix is chosen from how the artifact was built (the fixes of max-glibc for a
GLIBC limit). C/C++: for GLIBCXX/CXXABI the target's GCC or `-static-libstdc++
-static-libgcc`; for GCC (libgcc_s) `-static-libgcc`. A Go program with cgo gets
the Go remedies of max-glibc; a Rust program (rustc in `.comment`) whose -sys
crate needs the newer runtime gets `cargo zigbuild --release --target
x86_64-unknown-linux-gnu.<GLIBC limit>` or a static runtime.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.records import replace
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts
from linkgate.rules.base import CompileContext, PolicyRule
from linkgate.rules.remedies import glibc_fix, runtime_fix
from linkgate.rules.schema import Namespace, Version
from linkgate.rules.versioning import Limits, compile_limits, rejects_need, version_violations


def check(facts: ElfFacts, limits: Limits, _site: Site) -> Iterator[Violation]:
    for violation in version_violations(facts, limits):
        yield replace(violation, hint=_hint(facts, limits, violation.subject))


def _hint(facts: ElfFacts, limits: Limits, token: str) -> str:
    namespace = token.split("_", 1)[0]
    if namespace == "GLIBC" and "GLIBC" in limits.maxima:
        return glibc_fix(facts, limits.maxima["GLIBC"])
    return runtime_fix(facts, namespace, limits.maxima.get("GLIBC"))


def _compile(maxima: dict[str, str], context: CompileContext) -> Limits:
    return compile_limits(maxima, context.allowed_tokens)


RULE = PolicyRule(
    id="max-versions",
    doc=__doc__ or "",
    schema=dict[Namespace, Version],
    compile=_compile,
    check=check,
    rejects_version=rejects_need,
)
