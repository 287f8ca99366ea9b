"""Renderers: pure functions from a report (or facts) to text. They never decide pass or fail.

Each format's module is imported when a run asks for it: a text run does not
pay for the XML library JUnit needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linkgate.findings import Report

# Format name -> the module under linkgate.formats whose `render` writes it.
FORMATS = {"text": "text", "json": "json", "github": "github", "gitlab": "gitlab", "sarif": "sarif", "junit": "junit"}


def renderer(name: str) -> Callable[[Report], str]:
    """The `render` function of format `name` (one of FORMATS)."""
    module = importlib.import_module(f"linkgate.formats.{FORMATS[name]}")
    render: Callable[[Report], str] = module.render
    return render
