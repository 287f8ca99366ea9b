"""`inspect` lists a library's version needs oldest first, numerically (GLIBC_2.3 before GLIBC_2.14)."""

from __future__ import annotations

import re

from linkgate.formats.text_inspect import version_order
from tests.conftest import run_linkgate

# A real Debian program whose needs include GLIBC_2.3 and GLIBC_2.14 (strings would put 2.14 first).
PROGRAM = "/usr/bin/ls"


def test_inspect_text_orders_versions_numerically() -> None:
    result = run_linkgate("inspect", PROGRAM)
    assert result.returncode == 0, result.stderr
    output = result.stdout
    listed = re.findall(r"needs libc\.so\.6 (GLIBC_[\d.]+)", output)
    assert {"GLIBC_2.3", "GLIBC_2.14"} <= set(listed)
    assert listed == sorted(listed, key=version_order)
    assert listed.index("GLIBC_2.3") < listed.index("GLIBC_2.14")


def test_non_numeric_tokens_come_last() -> None:
    tokens = ["GLIBC_PRIVATE", "GLIBC_2.14", "GLIBC_2.2.5", "GLIBC_2.3"]
    assert sorted(tokens, key=version_order) == ["GLIBC_2.2.5", "GLIBC_2.3", "GLIBC_2.14", "GLIBC_PRIVATE"]
