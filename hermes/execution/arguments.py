"""Parsing and checking tool-call arguments against a tool's JSON schema.

Arguments that are ``null``, an array or a string, or that miss required fields, are
schema errors and never coerced to ``{}``; only an empty string for a tool without
parameters means ``{}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


class ArgumentError(ValueError):
    """The arguments do not fit the schema; the message tells the model what to fix."""


def _names_a_path(key: str) -> bool:
    return key in ("path", "workdir", "cwd") or key.endswith(("_path", "_dir", "_file"))


def _type_ok(value: Any, expected: str | list[str]) -> bool:
    names = [expected] if isinstance(expected, str) else expected
    for name in names:
        if name == "null" and value is None:
            return True
        kinds = _JSON_TYPES.get(name)
        if kinds is None:
            return True
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, kinds):
            return True
    return False


def parse_arguments(raw: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """Parse and check raw argument text; raises ArgumentError with a repair hint."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required: list[str] = list(schema.get("required") or [])
    if raw.strip() == "":
        if not properties:
            return {}
        raise ArgumentError(
            "the arguments were empty; send a JSON object with "
            + ", ".join(f"'{r}'" for r in required or properties)
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ArgumentError(
            f"the arguments are not valid JSON ({exc.msg} at position {exc.pos}); "
            "send one JSON object"
        ) from exc
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise ArgumentError(f"the arguments must be a JSON object, not {kind}")
    missing = [r for r in required if r not in value]
    if missing:
        raise ArgumentError("missing required argument(s): " + ", ".join(missing))
    if schema.get("additionalProperties") is False:
        extra = [k for k in value if k not in properties]
        if extra:
            raise ArgumentError(
                "unknown argument(s): " + ", ".join(extra) + "; allowed: " + ", ".join(properties)
            )
    for key, item in value.items():
        prop = properties.get(key)
        if not isinstance(prop, Mapping) or "type" not in prop:
            continue
        if item is None and key not in required:
            continue
        if not _type_ok(item, prop["type"]):
            raise ArgumentError(f"argument '{key}' must be {prop['type']}, got {item!r:.60}")
        enum = prop.get("enum")
        if enum is not None and item not in enum:
            raise ArgumentError(f"argument '{key}' must be one of {enum}, got {item!r:.60}")
        # Checked before anything resolves the path: os calls raise ValueError on it.
        if isinstance(item, str) and "\0" in item and _names_a_path(key):
            raise ArgumentError(f"{key} contains a NUL byte; no file name can hold one")
    return {k: v for k, v in value.items() if v is not None or k in required}
