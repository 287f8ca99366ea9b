"""Shared by several test modules (moved from test_ci_formats.py)."""

from __future__ import annotations

import re

ANNOTATION = re.compile(r"^::(error|warning|notice)( [a-z]+=[^,:\r\n]*(,[a-z]+=[^,:\r\n]*)*)?::[^\r\n]*$")
