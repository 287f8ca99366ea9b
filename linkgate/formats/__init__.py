"""Renderers: pure functions from a report (or facts) to text. They never decide pass or fail.

Each format's module is imported when a run asks for it: a text run does not
pay for the XML library JUnit needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from linkgate.core.findings import Report

Renderer = Callable[["Report"], str]
FormatName = Literal["text", "json", "github", "gitlab", "sarif", "junit"]
FORMATS: tuple[FormatName, ...] = get_args(FormatName)


def _text() -> Renderer:
    from linkgate.formats import text  # noqa: PLC0415 - lazy: start-up

    return text.render


def _json() -> Renderer:
    from linkgate.formats import json  # noqa: PLC0415 - lazy: start-up

    return json.render


def _github() -> Renderer:
    from linkgate.formats import github  # noqa: PLC0415 - lazy: start-up

    return github.render


def _gitlab() -> Renderer:
    from linkgate.formats import gitlab  # noqa: PLC0415 - lazy: start-up

    return gitlab.render


def _sarif() -> Renderer:
    from linkgate.formats import sarif  # noqa: PLC0415 - lazy: start-up

    return sarif.render


def _junit() -> Renderer:
    from linkgate.formats import junit  # noqa: PLC0415 - lazy: start-up

    return junit.render


# One loader per format: mypy checks every name and every module's `render`.
_LOADERS: dict[FormatName, Callable[[], Renderer]] = {
    "text": _text, "json": _json, "github": _github, "gitlab": _gitlab, "sarif": _sarif, "junit": _junit,
}  # fmt: skip


def format_name(value: str) -> FormatName:
    """`value` as a format name (the command line's choices already are); ValueError otherwise."""
    for name in FORMATS:
        if name == value:
            return name
    raise ValueError(f"unknown format {value!r} (known: {', '.join(FORMATS)})")


def renderer(name: FormatName) -> Renderer:
    """The `render` function of format `name`, its module imported on first use."""
    return _LOADERS[name]()
