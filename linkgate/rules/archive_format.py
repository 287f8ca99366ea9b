"""archive-format: an archive (wheel, zip, tar, .deb, .rpm, .apk, container image) cannot be read safely to the end.

Always on, like elf-format: a gate that could not see every member of an
uploaded artifact must not pass it. Truncated or corrupt archives, members
named outside the archive (absolute or `..`), symlink loops, zip or tar bombs
(more decompressed bytes or members than the bounds allow; see
LINKGATE_ARCHIVE_LIMITS in docs/archives.md), archives nested too deep, and
zstd data on an install that lost its zstd decoder (Python 3.14's
compression.zstd, else the backports.zstd dependency) land here with the
reason. Nothing is ever extracted to disk.
"""

from __future__ import annotations

from linkgate.archives.missing import ZSTD_MISSING
from linkgate.core.findings import Violation
from linkgate.rules.base import Rule


def unreadable(reason: str) -> Violation:
    return Violation(subject="archive", message=f"archive cannot be checked: {reason}", hint=_fix(reason))


def _fix(reason: str) -> str:
    if reason == ZSTD_MISSING:  # the artifact is fine: the install is not
        return (
            "install linkgate with its dependencies (`pip install backports.zstd` on Python < 3.14; "
            "3.14+ reads zstd itself), then check again"
        )
    return "rebuild or re-download the artifact; an archive that cannot be read to the end must not be shipped"


# Not configured by a policy: the scan turns archive problems into this rule's findings.
RULE = Rule("archive-format", __doc__ or "")
