"""elf-format: the artifact starts like an ELF file but cannot be read as the loader would.

Always on and never waivable by omission: a gate that cannot read an artifact
must not pass it. Truncated downloads, corrupted uploads and hostile files
land here with the exact reason. So does a UPX-packed program whose packed
payload cannot be decoded: the rules that judge the program (max-glibc,
target, ...) would otherwise judge only the UPX stub.
"""

from __future__ import annotations

from linkgate.core.findings import Violation
from linkgate.rules.base import Rule


def unreadable(reason: str) -> Violation:
    return Violation(
        subject="unreadable",
        message=f"cannot be read as an ELF file: {reason}",
        hint="rebuild or re-download the artifact; a truncated or corrupt file must not be shipped",
    )


# Not configured by a policy: evaluation turns read errors into this rule's finding.
RULE = Rule("elf-format", __doc__ or "")


def unread_payload(rules: list[str]) -> Violation:
    return Violation(
        subject="upx-payload",
        message=f"UPX-packed and the packed program could not be read: {', '.join(rules)} cannot judge it",
        hint="unpack it (`upx -d`) and check the real program, or ship it unpacked",
    )
