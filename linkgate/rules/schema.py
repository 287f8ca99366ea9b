"""Types of rule settings as the policy file writes them, declared without importing pydantic.

Each rule module names the type of its setting (`Version`, `Globs`, ...). The policy
loader builds its validation model from those types; the check path never imports
the validation library. `Checked` is validation metadata in the form pydantic reads
from `Annotated` (a `__get_pydantic_core_schema__` hook), imported only when the model
is built. It also tells `linkgate schema` what its function checks, in JSON Schema
words (a `__get_pydantic_json_schema__` hook), so an editor refuses what the loader
refuses: the pattern of a version, the names of rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

_VERSION = re.compile(r"^\d+(\.\d+)*$")
# Real versions are a few characters ("2.31", "3.4.32"); a huge one is refused with a short
# message before anything turns its parts into integers.
MAX_VERSION_LENGTH = 32
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def shown(value: str, limit: int = 40) -> str:
    """`value` quoted for a message, cut short: a hostile policy must not fill the log."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


JsonSchema = dict[str, Any]


class Checked:
    """`Annotated[T, Checked(fn)]`: `fn` validates (and may convert) the value, raising ValueError.

    `json_schema` turns the JSON schema of what `fn` receives into the schema of what it
    accepts (see `keywords` and `or_number`); without it `fn` adds nothing an editor can check.
    """

    def __init__(
        self,
        function: Callable[[Any], Any],
        before: bool = False,
        json_schema: Callable[[JsonSchema], JsonSchema] | None = None,
    ) -> None:
        self.function = function
        self.before = before
        self.json_schema = json_schema

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        from pydantic_core import core_schema  # noqa: PLC0415 - lazy: start-up

        inner = handler(source)
        if self.before:
            return core_schema.no_info_before_validator_function(self.function, inner)
        return core_schema.no_info_after_validator_function(self.function, inner)

    def __get_pydantic_json_schema__(self, source: Any, handler: Callable[[Any], JsonSchema]) -> JsonSchema:
        schema = handler(source)
        return schema if self.json_schema is None else self.json_schema(schema)


def keywords(**words: object) -> Callable[[JsonSchema], JsonSchema]:
    """A `json_schema` that adds JSON Schema keywords (`pattern=...`, `enum=[...]`)."""
    return lambda schema: {**schema, **words}


def or_number(schema: JsonSchema) -> JsonSchema:
    """The schema, or a plain number: YAML reads `2.30` as a number, the loader keeps it as "2.30"."""
    return {"anyOf": [schema, {"type": "number", "minimum": 0}]}


def _version_text(value: object) -> object:
    """Versions must keep their spelling: 2.30 is not 2.3.

    The YAML loader hands floats over as their source text; a real float here
    (from JSON or Python) has lost trailing zeros, so it is refused.
    """
    if isinstance(value, float):
        raise ValueError(f"write the version as a quoted string (got the number {value!r})")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _check_version(value: str) -> str:
    if len(value) > MAX_VERSION_LENGTH:
        raise ValueError(f'version of {len(value)} characters: at most {MAX_VERSION_LENGTH}, like "2.31"')
    if not _VERSION.match(value):
        raise ValueError(f'{shown(value)} is not a version like "2.31"')
    return value


def _check_namespace(value: str) -> str:
    if not _NAMESPACE.match(value):
        raise ValueError(f"{shown(value)} is not a version namespace like GLIBCXX")
    return value


# _check_version runs after _version_text (an outer before-validator runs first); listed in
# this order, the pattern lands on the string branch of the JSON schema.
Version = Annotated[
    str,
    Checked(_check_version, json_schema=keywords(pattern=_VERSION.pattern, maxLength=MAX_VERSION_LENGTH)),
    Checked(_version_text, before=True, json_schema=or_number),
]
Namespace = Annotated[str, Checked(_check_namespace, json_schema=keywords(pattern=_NAMESPACE.pattern))]
Globs = tuple[str, ...]
LinkageKind = Literal["static", "dynamic", "any"]


def parse_version(text: str) -> tuple[int, ...]:
    """A validated version as a comparable tuple: "2.31" -> (2, 31)."""
    return tuple(int(part) for part in text.split("."))
