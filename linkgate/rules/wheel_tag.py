"""wheel-tag: a wheel's binaries run where its platform tag promises.

Applies when no policy is given (no --policy, no linkgate.yml): a wheel is then
judged against its own tag, from its file name and its WHEEL file.
`manylinux_2_17_x86_64` (or `manylinux2014_x86_64`) promises the manylinux_2_17
target profile: every NEEDED library and symbol version must be there, as the
`target` rule decides. Several tags promise the oldest of them. `linux_x86_64`
is refused (PyPI rejects it: run `auditwheel repair`), and so is a tag no
shipped profile describes. An Android tag (`android_24_arm64_v8a`, PEP 738)
promises that API level on that ABI: the extensions are built for the ABI's
machine, and the `android-<level>` preset judges them as it judges an APK's
libraries. With a policy, wheels are judged by the policy.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.records import record
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts, split_version_token
from linkgate.profiles.android import MACHINE_OF_ABI
from linkgate.profiles.index import TargetIndex
from linkgate.rules import remedies, target
from linkgate.rules.base import Rule, short_list

# A wheel tag's architecture -> linkgate's machine name.
_MACHINES = {"i686": "i386", "armv7l": "arm", "ppc64le": "ppc64le", "ppc64": "ppc64"}


@record
class Promise:
    """What one platform tag promises: the tag as written, and the profile it names."""

    tag: str
    profile_name: str
    architecture: str
    profile: TargetIndex


def check(facts: ElfFacts, promise: Promise, site: Site) -> Iterator[Violation]:
    machine = _MACHINES.get(promise.architecture, promise.architecture)
    if facts.machine != machine:
        yield Violation(
            subject=facts.machine,
            message=f"built for {facts.machine} (tag promises {promise.architecture})",
            hint="build the extension for the tag's architecture, or tag the wheel for the one it is built for",
        )
        return
    for violation in target.judge(facts, promise.profile, site):
        yield _reworded(violation, promise)


def check_android_abi(facts: ElfFacts, abis: tuple[str, ...], site: Site) -> Iterator[Violation]:
    """An extension of an Android wheel is built for the machine of one of its tags' ABIs."""
    del site
    machines = {MACHINE_OF_ABI.get(abi, abi) for abi in abis}
    if facts.machine not in machines:
        yield Violation(
            subject=facts.machine,
            message=f"built for {facts.machine} (tag promises {', '.join(abis)})",
            hint="build the extension for the tag's ABI, or tag the wheel for the one it is built for",
        )


def rejects(promise: Promise, library: str, version: str) -> bool:
    return target.rejects_need(target.Target(promise.profile_name, promise.profile), library, version)


def _reworded(violation: Violation, promise: Promise) -> Violation:
    promised = f"tag promises {promise.profile_name}"
    if split_version_token(violation.subject) is not None or violation.subject.startswith("GLIBC"):
        message = f"needs {violation.subject} ({promised})"
        if violation.symbols:
            message += ": " + short_list(violation.symbols)
        hint = (
            f"build in the {promise.profile_name} image (or an older one) so the wheel needs no newer symbols, "
            "or tag the wheel for the glibc it needs"
        )
        return Violation(violation.subject, message, hint, violation.symbols, violation.advisory)
    # Only a missing library can be bundled; unbound symbols and the C library are fixed by the build.
    bundle = violation.subject != "symbol-binding" and not remedies.is_c_library(violation.subject)
    return Violation(
        violation.subject,
        f"{violation.message} ({promised})",
        "bundle the library into the wheel with `auditwheel repair`, or link it statically"
        if bundle
        else violation.hint,
        violation.symbols,
        violation.advisory,
    )


def refused(tag: str, why: str, hint: str) -> Violation:
    return Violation(subject=tag, message=f"wheel tag: {why}", hint=hint)


# Configured by the scan from the wheel's own tags, not by a policy.
RULE = Rule("wheel-tag", __doc__ or "")
