"""Reading parsed YAML of unknown shape: a field that should be a mapping
or a list, or a value deep inside, without tripping over a wrong type.

Manifests, values files and settings are user input; a field of the wrong
shape is reported by the check that owns it (a schema check, a settings
error), so every other reader only needs these to not crash on it.
"""

from __future__ import annotations

from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else {}."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a list, else []."""
    return value if isinstance(value, list) else []


def dig(value: Any, *keys: str | int) -> Any:
    """``value[k1][k2]...`` or None when any step is missing or of the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return None
            value = value[key]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
    return value


def quoted_name(value: Any) -> str:
    """A name for a message: quoted when it is a name, "(no name)" when the
    field is missing or not a string, so a message never reads None (the
    schema check reports the missing name itself)."""
    return repr(value) if isinstance(value, str) and value else "(no name)"


def plain_name(value: Any) -> str:
    """Like quoted_name, unquoted."""
    return value if isinstance(value, str) and value else "(no name)"


def json_type(value: Any) -> str:
    """The JSON Schema type name of a loaded value, as the API server's
    messages say it ("integer", "array", ...); Python's own name for
    anything YAML gives that JSON has no type for."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
