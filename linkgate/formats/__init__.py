"""Renderers: pure functions from a report (or facts) to text. They never decide pass or fail.

Each format's module is imported when a run asks for it: a text run does not
pay for the XML library JUnit needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linkgate.core.findings import Report

# Each format is written by the `render` of the module of that name under linkgate.formats.
FORMATS = ("text", "json", "github", "gitlab", "sarif", "junit")


def renderer(name: str) -> Callable[[Report], str]:
    """The `render` function of format `name` (one of FORMATS)."""
    if name not in FORMATS:
        raise KeyError(name)
    module = importlib.import_module(f"linkgate.formats.{name}")
    render: Callable[[Report], str] = module.render
    return render
