"""`unknown key (did you mean max-glibc?)`: the keys a model accepts where a typo'd one stands.

Read from the model's own JSON Schema (the one `linkgate schema` publishes), so every key the
loader accepts, a rule id included, is a candidate; only a policy with a mistake pays for it.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

from linkgate.core.yamlsource import Location


def did_you_mean(key: str, known: list[str]) -> str:
    """` (did you mean NAME?)`, or the known keys when none is close; "" when there are none."""
    close = close_to(key, known)
    if close:
        return f" (did you mean {close}?)"
    return f" (known: {', '.join(known)})" if known else ""


def close_to(word: str, known: list[str]) -> str | None:
    """The known word `word` most likely misspells, if any is close."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return close[0] if close else None


def keys_at(model: type[BaseModel], location: Location) -> list[str]:
    """The keys the mapping at `location` of a `model` document accepts ([] when it takes any key)."""
    schema = model.model_json_schema(by_alias=True)
    node = _resolved(schema, schema)
    for part in location:
        node = _resolved(schema, _child(node, part))
    return sorted(node.get("properties", {}))


def _child(node: dict[str, Any], part: str | int) -> dict[str, Any]:
    if isinstance(part, int):
        items: dict[str, Any] = node.get("items", {})
        return items
    child: dict[str, Any] = node.get("properties", {}).get(part) or node.get("additionalProperties") or {}
    return child


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node` with its $ref followed, or the first branch of an anyOf/oneOf that is a mapping or list."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _resolved(schema, schema["$defs"][name])
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        found = _resolved(schema, branch)
        if "properties" in found or "items" in found:
            return found
    return node
