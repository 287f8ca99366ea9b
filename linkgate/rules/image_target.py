"""image-target: each ELF file in a container image runs on the image itself.

Applies to every OCI image layout and `docker save` tar, with or without a
policy: the image's final filesystem (its layers applied) is captured in place,
as `linkgate profile capture --root` captures an unpacked root: the libraries in
its ld.so.conf and system directories with the versions they define, its
interpreters, its C library and release. Each ELF file is then judged as the
`target` rule judges it, against that system. The classic failure is a
multi-stage build that compiles on a newer base and `COPY --from=builder`s the
binary into an older runtime base: the container dies with
`version 'GLIBC_2.34' not found`. An image with no C library fails every
dynamically linked program in it (no interpreter). With a policy, the policy
is applied too; without one, the image's own system is the only target.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.records import record, replace
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts, split_version_token
from linkgate.profiles.index import TargetIndex
from linkgate.rules import remedies, target
from linkgate.rules.base import Rule


@record
class ImageSystem:
    """The image as a target: its captured profile and how it is named (`glibc 2.31 (Debian 11)`)."""

    profile: TargetIndex
    description: str
    system: str  # what the image's os-release names (`Debian 11`)


def check(facts: ElfFacts, image: ImageSystem, site: Site) -> Iterator[Violation]:
    for violation in target.judge(facts, image.profile, site):
        yield _with_fix(violation, facts, image)


def rejects(image: ImageSystem, library: str, version: str) -> bool:
    return target.rejects_need(target.Target(image.profile.name, image.profile), library, version)


def _with_fix(violation: Violation, facts: ElfFacts, image: ImageSystem) -> Violation:
    """The fixes of an image: the runtime stage's base, not a target system one deploys to."""
    subject = violation.subject
    parsed = split_version_token(subject)
    if subject.startswith("/"):  # the interpreter
        return replace(violation, hint=remedies.no_libc_fix(facts)) if image.profile.libc_family is None else violation
    if parsed is not None:
        return replace(violation, hint=remedies.image_fix(facts, parsed[0], image.profile.libc_version, image.system))
    if ".so" in subject and not violation.advisory:  # a library the image lacks
        return replace(violation, hint=remedies.image_library_fix(subject))
    return violation


# Configured by the scan from each image's own files, not by a policy.
RULE = Rule("image-target", __doc__ or "")
