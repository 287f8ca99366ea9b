"""`python -m tests.helpers.kill_on BASENAME linkgate ARGS...`: linkgate, with a pool worker that
SIGKILLs itself on reaching the file named BASENAME, as the OOM killer would
(tests/check/test_fail_closed_scan.py). The fault is injected here, not in the package: the workers are
forked from this process and run its `check_candidate`.
"""

from __future__ import annotations

import os
import signal
import sys

from linkgate import cli
from linkgate.check import scan
from linkgate.check.discover import Candidate
from linkgate.core.findings import ArtifactResult


def main() -> None:
    victim = sys.argv[1]
    checked = scan.check_candidate

    def killed_on_victim(candidate: Candidate, options: scan.ScanOptions) -> tuple[ArtifactResult, ...]:
        if os.path.basename(candidate.fs_path) == victim and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return checked(candidate, options)

    parent = os.getpid()
    scan.check_candidate = killed_on_victim
    sys.argv = sys.argv[2:]
    cli.run()


if __name__ == "__main__":
    main()
