"""Editing YAML files in place: ruamel.yaml's round-trip mode keeps
comments, key order and quoting, so a pin or model.yaml edited by a command
reads like one edited by hand. Facts are read by shipyard.load; this module
only writes.
"""

from __future__ import annotations

import io
import weakref
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError as RuamelError

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.files import read_exact
from shipyard.load import load_located

BOM = "\ufeff"
# How each loaded text was written, so the edit is written back the same way.
_STYLE: "weakref.WeakKeyDictionary[YAML, tuple[bool, str]]" = weakref.WeakKeyDictionary()

def _yaml_for(text: str) -> YAML:
    """A round-trip YAML that writes sequences and mappings the way this
    file already does (``- item`` flush with its key, or indented), guessed
    from the first block sequence and the first nested mapping."""
    mapping = sequence = offset = None
    key_indent = 0
    parent_key: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lead = len(line) - len(line.lstrip(" "))
        if stripped.startswith("- ") and sequence is None:
            offset = max(lead - key_indent, 0)
            sequence = offset + 2 + len(stripped[2:]) - len(stripped[2:].lstrip(" "))
        elif mapping is None and parent_key is not None and lead > parent_key and not stripped.startswith("-"):
            mapping = lead - parent_key
        if stripped.endswith(":") and not stripped.startswith("-"):
            key_indent = parent_key = lead
        else:
            parent_key = None
        if sequence is not None and mapping is not None:
            break
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    mapping = mapping or 2
    offset = offset or 0
    rt.indent(mapping=mapping, sequence=sequence or (mapping + offset), offset=offset)
    return rt


def load_round_trip(text: str, rel: str) -> tuple[YAML, Any]:
    """``text`` as ruamel's round-trip data, after the bounded loader read
    it (malformed YAML, alias bombs and absurd nesting stop there first)."""
    load_located(text, rel)
    bom = text.startswith(BOM)
    newline = "\r\n" if "\r\n" in text else "\n"
    plain = text.removeprefix(BOM).replace("\r\n", "\n")
    rt = _yaml_for(plain)
    _STYLE[rt] = (bom, newline)
    try:
        return rt, rt.load(plain)
    except RuamelError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ShipyardError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=rel,
                            line=(mark.line + 1) if mark else None, check=ids.INVALID_YAML) from None


def dump_round_trip(rt: YAML, data: Any) -> str:
    """The edited data as text, in the file's own style: its indentation,
    its line endings (CRLF stays CRLF) and its byte-order mark."""
    out = io.StringIO()
    rt.dump(data, out)
    text = out.getvalue()
    bom, newline = _STYLE.get(rt, (False, "\n"))
    if newline != "\n":
        text = text.replace("\n", newline)
    return (BOM + text) if bom else text


def read_or_none(path: Path) -> str | None:
    """A file's text, or None when it does not exist (yet)."""
    return read_exact(path) if path.is_file() else None


def append_to_block_sequence(text: str, last_item_line: int, item: Any) -> str | None:
    """``text`` with ``item`` written as a new last entry of the block
    sequence whose current last entry starts at ``last_item_line`` (1-based),
    or None when that sequence is not written in block style (then the
    caller round-trips the file instead).

    Appending by text leaves every other byte of the file as it was, and
    costs the size of the entry rather than the file: ruamel's round trip of
    a model.yaml with 100,000 versions needed over 2 GB to add one."""
    bom = text.startswith(BOM)
    newline = "\r\n" if "\r\n" in text else "\n"
    plain = text.removeprefix(BOM).replace("\r\n", "\n")
    lines = plain.split("\n")
    index = last_item_line - 1
    if not 0 <= index < len(lines):
        return None
    start = lines[index]
    dash = len(start) - len(start.lstrip(" "))
    if not start[dash:].startswith("- ") and start[dash:] != "-":
        return None
    end = index  # the last line that belongs to the item
    for number in range(index + 1, len(lines)):
        line = lines[number]
        stripped = line.strip()
        if not stripped:
            continue
        if len(line) - len(line.lstrip(" ")) <= dash:
            break
        end = number
    rt = _yaml_for(plain)
    out = io.StringIO()
    rt.dump([item], out)
    written = out.getvalue().rstrip("\n").split("\n")
    shift = dash - (len(written[0]) - len(written[0].lstrip(" ")))
    if shift < 0:
        return None
    entry = [(" " * shift + line) if line.strip() else line for line in written]
    new_lines = lines[: end + 1] + entry + lines[end + 1:]
    new_text = "\n".join(new_lines)
    if not new_text.endswith("\n"):
        new_text += "\n"
    if newline != "\n":
        new_text = new_text.replace("\n", newline)
    return (BOM + new_text) if bom else new_text
