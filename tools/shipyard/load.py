"""YAML text -> Kubernetes objects with file and line, fast and strict.

Loading is the cost every validate run pays for every rendered object, so it
is built for speed on top of libyaml: PyYAML's C parser composes the node
tree (in C), and one small Python walk turns nodes into plain dicts while it
detects duplicate keys. The Python-level hooks the C composer calls for every
node (tag resolution) are replaced by trivial ones; scalars are resolved in
the walk instead, with YAML 1.1 rules as kubectl reads them (``yes`` is a
bool, ``0755`` is octal, timestamps and ``1:20`` stay strings).

Lines: each object keeps its document's line in ``Source``; lines of fields
are found lazily by ``line_resolver``, which re-parses that one document
with marks only when a finding asks for a line.

Texts that are JSON go through json's C parser. Texts of at least
``FAST_MIN_CHARS`` go through ``shipyard.yaml_fast`` first: rapidyaml
parses each document and json builds it, about 5x faster than PyYAML's
CSafeLoader; every document it cannot read exactly as this module would
(YAML 1.1 words and numbers, floats, merge keys, duplicate keys, tags,
anchors, tabs, malformed YAML) is read here, so the result is the same.

Python's cyclic garbage collector is paused while a text loads (nothing
built here forms cycles): with every object of a run kept alive, its passes
doubled the load time. After a large text, the objects alive are moved out
of the collector's sight (``gc.freeze``): a validate run keeps them to its
end, and passes over them in the checks that follow cost as much as the
load. Measured on benchmarks/parse_10k.py (10,000 Deployments, 7.9 MB):
0.4 s to load, against 2.1 s for a bare CSafeLoader parse.

Limits, the same for every text: what aliases expand to is bounded by the
size of the text, in characters (an alias bomb, or one large string aliased
a thousand times, is an error, not an hour of CPU or a checker's minutes);
nesting deeper than ``MAX_DEPTH`` is an error in YAML and JSON alike (and is
measured first where libyaml's recursive composer could overflow the stack);
an integer longer than Python converts is an error with its line; files are
read within ``MAX_FILE_BYTES``. The strict reader (``load_located``) also
refuses unquoted timestamps that name no date, for ruamel.yaml's sake.
"""

from __future__ import annotations

import gc
import json
import math
import re
import stat
import sys
import threading
from datetime import datetime, timedelta, timezone
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Final, Iterable, Iterator

import yaml
from yaml._yaml import CParser
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shipyard.errors import ShipyardError
from shipyard.findings import Finding
from shipyard.objects import JsonPath, K8sObject, Source

__all__ = [
    "Loaded",
    "load_text",
    "load_file",
    "load_documents",
    "load_documents_located",
    "read_text",
    "file_size",
    "load_config",
    "format_path",
    "INVALID_YAML",
    "YAML_LIMIT",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INT_DIGITS",
]

INVALID_YAML: Final = "SY910"  # malformed YAML, not UTF-8
YAML_LIMIT: Final = "SY911"  # alias expansion or nesting beyond the limits
DUPLICATE_KEY: Final = "SY103"
NOT_AN_OBJECT: Final = "SY104"

MAX_DEPTH = 200
"""Deepest nesting accepted, in YAML and JSON alike. Kubernetes objects nest
about 20 levels (the deepest object this repository renders, the
SeldonDeployment CRD, 48); the schema validator (jsonschema_rs) refuses
data nested past 255 levels with an error of its own, so anything the
loader accepts must stay below that."""

MAX_FILE_BYTES = 64 * 2**20
"""Largest file read. The API server stores about 1.5 MiB per object; the
biggest upstream CRD bundles are a few MiB. Loading costs about 25 bytes of
memory per byte of YAML, so the limit also bounds memory (under 2 GiB)."""

_ALIAS_SLACK = 10_000
"""Without aliases, what a text of n characters builds costs fewer than n:
each collection entry costs 1 and each scalar its length in characters, and
every entry and every character of a scalar was written in the text. A walk
that spends more than ``len(text) + _ALIAS_SLACK`` is expanding aliases
(exponentially, or a large scalar many times over, or recursively): it is
stopped, so the document built is never much larger than the text."""

MAX_INT_DIGITS = min(4300, sys.get_int_max_str_digits() or 4300)
"""Longest integer read (decimal digits). Python refuses to convert longer
ones (``int()``/``str()`` raise ValueError past ``sys.get_int_max_str_digits``,
4,300 by default, because the conversion is quadratic); Kubernetes numbers
are 64-bit. A longer integer is an error with its line, not a crash later."""

_MAX_INT_BITS = int((MAX_INT_DIGITS - 1) / math.log10(2))
"""Bits of the largest hexadecimal, octal or binary integer read: any value
of this many bits has at most ``MAX_INT_DIGITS`` decimal digits."""


@dataclass
class Loaded:
    """The objects of one text, and what was wrong with its documents."""

    objects: list[K8sObject]
    findings: list[Finding] = field(default_factory=list)


# --------------------------------------------------------------------------
# Scalars: YAML 1.1 implicit types, as Kubernetes' YAML reader resolves them.

_CONSTANTS: dict[str, Any] = {"": None, "~": None, "null": None, "Null": None, "NULL": None}
for _word in ("yes", "true", "on"):
    for _v in (_word, _word.capitalize(), _word.upper()):
        _CONSTANTS[_v] = True
for _word in ("no", "false", "off"):
    for _v in (_word, _word.capitalize(), _word.upper()):
        _CONSTANTS[_v] = False

_NUMBER_START = frozenset("-+0123456789.")
_INT = re.compile(r"[-+]?(?:0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+)\Z")
_FLOAT = re.compile(
    r"(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?"
    r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)
_MERGE = "<<"


class _NumberError(Exception):
    """An integer too long to convert (``text`` is the scalar, so the walk
    that catches this can find its line)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _number(text: str) -> Any:
    """An int or float for a plain scalar that looks like one, else the text."""
    if _INT.match(text):
        digits = text.replace("_", "")
        sign = -1 if digits[0] == "-" else 1
        if digits[0] in "+-":
            digits = digits[1:]
        if digits.startswith("0b"):
            return sign * _bounded(int(digits[2:], 2), text)
        if digits.startswith("0x"):
            return sign * _bounded(int(digits[2:], 16), text)
        if len(digits) > 1 and digits[0] == "0":
            return sign * _bounded(int(digits, 8), text)
        if len(digits) > MAX_INT_DIGITS:
            raise _NumberError(text)
        return sign * int(digits)
    if _FLOAT.match(text):
        lowered = text.replace("_", "").lower()
        if lowered.endswith("nan"):
            return float("nan")
        return float(lowered.replace(".inf", "inf"))
    return text


def _bounded(value: int, text: str) -> int:
    """``value`` (read in base 2, 8 or 16, which Python converts without a
    limit), refused when its decimal form would be longer than Python can
    print: ``str()`` or ``json.dumps`` of it would raise later, anywhere."""
    if value.bit_length() > _MAX_INT_BITS:
        raise _NumberError(text)
    return value


def _number_message(text: str) -> str:
    body = text.replace("_", "").lstrip("+-")
    digits = len(body) - 2 if body[:2] in ("0x", "0b") else len(body)
    shown = text if len(text) <= 24 else f"{text[:12]}...{text[-8:]}"
    return (f"the integer {shown} has {digits:,} digits, beyond the {MAX_INT_DIGITS:,} the loader reads "
            "(Kubernetes numbers are 64-bit)")


def _plain(text: str) -> Any:
    """The value of an untagged plain scalar."""
    value = _CONSTANTS.get(text, text)
    if value is not text:
        return value
    if text[0] in _NUMBER_START:
        return _number(text)
    return text


def _key_text(value: Any) -> str:
    """A mapping key as JSON needs it: Kubernetes turns ``80:`` into ``"80"``."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


_STR_TAG = "tag:yaml.org,2002:str"
_TAGGED_SCALARS: dict[str, Callable[[str], Any]] = {
    _STR_TAG: str,
    "tag:yaml.org,2002:int": lambda t: _checked(_number(t), int, t, "int"),
    "tag:yaml.org,2002:float": lambda t: _checked(_number(t), (int, float), t, "float"),
    "tag:yaml.org,2002:bool": lambda t: _checked(_CONSTANTS.get(t), bool, t, "bool"),
    "tag:yaml.org,2002:null": lambda t: None,
    "tag:yaml.org,2002:timestamp": str,
    "tag:yaml.org,2002:binary": str,
}


class _TagError(Exception):
    """YAML that is valid but not JSON-like data (tags, complex keys)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


def _checked(value: Any, kind: type[int | float] | tuple[type[int | float], ...], text: str, name: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _TagError(f"{text!r} is not a valid !!{name}")
    if name != "float":
        return value
    try:
        return float(value)
    except OverflowError:  # an integer beyond a double's range
        raise _TagError(f"{_short(text)} is too large for a !!float") from None


def _short(text: str) -> str:
    """``text`` quoted for a message, cut when long (a scalar may be megabytes)."""
    return repr(text) if len(text) <= 40 else repr(text[:30]) + f"... ({len(text):,} characters)"


# --------------------------------------------------------------------------
# Composition: libyaml in C, with trivial Python hooks.

# Tags the hooks give untagged nodes; compared by identity, so they cannot
# be confused with a tag written in the text.
_PLAIN = "(untagged plain scalar)"
_QUOTED = "(untagged quoted scalar)"
_COLLECTION = "(untagged collection)"


class _Composer(CParser):
    """libyaml's parser and composer. The C composer calls ``resolve`` for
    every untagged node and the path-resolver hooks for every node; PyYAML's
    versions run regular expressions in Python and cost half the load time.
    Here they only record whether a scalar was plain."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if implicit.__class__ is bool:
            return _COLLECTION
        return _PLAIN if implicit[0] else _QUOTED

    def descend_resolver(self, parent: Any, index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def _compose_all(text: str, path: str) -> list[Node]:
    """Root nodes of every document in ``text``; malformed YAML raises.

    libyaml's composer recurses in C and overflows the stack somewhere past
    20,000 levels, so texts that might nest that deep are measured first
    (iteratively) and refused beyond ``MAX_DEPTH``."""
    if _may_nest_deeper_than(text, _C_SAFE_DEPTH):
        depth, line = _max_depth(text, path)
        if depth > MAX_DEPTH:
            raise ShipyardError(
                f"YAML nests more than {MAX_DEPTH} levels deep",
                file=path, line=line, check=YAML_LIMIT,
                hint="Kubernetes objects nest a few dozen levels at most: check the file is what you meant",
            )
    composer = _new_composer(text, path)
    roots: list[Node] = []
    try:
        while composer.check_node():
            root = composer.get_node()
            assert root is not None  # check_node() said a node follows
            roots.append(root)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    finally:
        composer.dispose()
    return roots


_C_SAFE_DEPTH = 10_000
_CHAIN = re.compile(r"(?:[-?:][ \t]+){2,}")


def _may_nest_deeper_than(text: str, limit: int) -> bool:
    """A cheap test, at C speed, that ``text`` cannot nest ``limit`` levels.

    Every level of nesting costs a flow bracket, or (for block collections)
    more indentation at least every second level, or a block indicator
    (``- ``, ``? ``) on the same line as its parent's."""
    if len(text) < limit:
        return False
    third = limit // 3
    if text.count("[") + text.count("{") >= third:
        return True
    if "\n" + " " * (third // 2) in text or text.startswith(" " * (third // 2)):
        return True
    if text.count("- ") + text.count("-\t") + text.count("? ") + text.count("?\t") < third:
        return False
    return any(len(m.group()) >= third for m in _CHAIN.finditer(text))


def _new_composer(text: str, path: str) -> _Composer:
    try:
        return _Composer(text)
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise ShipyardError(
            "text is not valid Unicode (it holds a lone surrogate)", file=path, line=line,
            check=INVALID_YAML, hint="save the file as UTF-8",
        ) from None


def _yaml_error(exc: yaml.YAMLError, text: str, path: str) -> ShipyardError:
    """One clear error for libyaml's complaint: the line to look at (never
    past the end of the file), where the construct it was parsing started,
    and for tabs (the most common cause of "cannot start any token") what
    the character is and what to do."""
    mark = getattr(exc, "problem_mark", None)
    line: int | None = None
    last_line = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if mark is not None:
        line = mark.line + 1
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text.encode("utf-8", "surrogatepass")[: exc.position].count(b"\n") + 1
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    hint = "fix the YAML syntax at that line"
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int):
        problem = f"{problem} (U+{exc.character:04X} found)"
        hint = "remove the non-printing character; binary data belongs base64-encoded in a Secret's data"
    at_end = line is not None and line > max(last_line, 1)  # the line after the last newline
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        problem = f"a tab character at column {mark.column + 1}: YAML indents with spaces only"
        context = None
        hint = "replace the tab with spaces"
    message = f"invalid YAML: {problem}"
    notes: list[str] = []
    if at_end:
        notes.append("at the end of the file")
    if context:
        if context_mark is not None and line is not None and context_mark.line + 1 != line:
            context += f" that starts at line {context_mark.line + 1}"
        notes.append(context)
    if notes:
        message += f" ({'; '.join(notes)})"
    return ShipyardError(message, file=path, line=line, check=INVALID_YAML, hint=hint)


def _char_at(text: str, line: int, column: int) -> str:
    """The character at a 0-based (line, column) of ``text``, or ""."""
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    index = start + column
    return text[index] if index < len(text) else ""


def _max_depth(text: str, path: str) -> tuple[int, int]:
    """Nesting depth from libyaml's event stream (iterative, so it cannot
    overflow), stopping once past ``MAX_DEPTH``; and the line where."""
    parser = _new_composer(text, path)
    depth = deepest = 0
    line = 1
    try:
        while True:
            event = parser.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                break
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > deepest:
                    mark = event.start_mark
                    assert mark is not None  # libyaml marks every event
                    deepest, line = depth, mark.line + 1
                    if deepest > MAX_DEPTH:
                        break
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    finally:
        parser.dispose()
    return deepest, line


# --------------------------------------------------------------------------
# Construction: nodes -> plain Python values, duplicate keys noted.


class _LimitError(Exception):
    def __init__(self, message: str, node: Node, hint: str = "") -> None:
        super().__init__(message)
        self.node = node
        self.hint = hint or ("aliases (&anchor / *alias) may build no more than the text holds: remove those that "
                             "repeat a large value, nest exponentially or refer to themselves")


class _TooDeep(Exception):
    """A collection past ``MAX_DEPTH``; ``build`` tells an alias inside
    itself (which nests forever) from nesting that is only deep."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node


_DEPTH_HINT = "Kubernetes objects nest a few dozen levels at most: check the file is what you meant"


@dataclass
class _Duplicate:
    mapping: MappingNode
    key: str
    line: int
    first_line: int


class _Builder:
    """Builds one text's documents. ``budget`` is spent on what is built:
    1 per collection entry and the length of every key and scalar value, so
    it only runs out when aliases expand far beyond the text (see
    ``_ALIAS_SLACK``). ``depth`` counts collections, as nesting is measured
    everywhere else, and stops past ``MAX_DEPTH``.

    The walk is the hot loop of every validate run: scalars (most nodes) are
    handled inline rather than by a call per node, and the characters of a
    collection's scalars are added up in a local and spent once, after it."""

    __slots__ = ("budget", "duplicates")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.duplicates: list[_Duplicate] = []

    def build(self, node: Node) -> Any:
        try:
            return self._value(node, 1)
        except (RecursionError, _TooDeep) as exc:
            looped = _alias_loop(node)
            if looped is not None:
                raise _LimitError("a YAML alias refers to a node that contains it, which would nest forever", looped) from None
            if isinstance(exc, _TooDeep):
                raise _LimitError(f"YAML nests more than {MAX_DEPTH} levels deep", exc.node, _DEPTH_HINT) from None
            raise _LimitError("YAML nests too deep to load (hundreds of levels)", node, _DEPTH_HINT) from None

    def _spend(self, cost: int, node: Node) -> None:
        self.budget -= cost
        if self.budget < 0:
            raise _LimitError(_ALIAS_MESSAGE, node)

    def _value(self, node: Node, depth: int) -> Any:
        cls = node.__class__
        if cls is ScalarNode:
            tag = node.tag
            if tag is _PLAIN:
                return _plain(node.value)
            if tag is _QUOTED:
                return node.value
            assert isinstance(node, ScalarNode)  # cls is ScalarNode
            return _tagged(node)
        if depth > MAX_DEPTH:
            raise _TooDeep(node)
        if cls is MappingNode:
            if node.tag is not _COLLECTION and node.tag != _MAP_TAG:
                raise _TagError(_tag_message(node.tag), node.start_mark.line + 1)
            pairs = node.value
            self.budget -= len(pairs)
            if self.budget < 0:
                raise _LimitError(_ALIAS_MESSAGE, node)
            out: dict[str, Any] = {}
            merges: list[Node] | None = None
            chars = 0
            for key_node, value_node in pairs:
                if key_node.__class__ is not ScalarNode:
                    raise _TagError(
                        "a mapping key must be a scalar (JSON objects have string keys)", key_node.start_mark.line + 1
                    )
                key = key_node.value
                chars += len(key)
                tag = key_node.tag
                if tag is _PLAIN:
                    constant: Any = _CONSTANTS.get(key, key)
                    if constant is not key:
                        key = _key_text(constant)
                    elif key[0] in _NUMBER_START:
                        key = _key_text(_number(key))
                    elif key == _MERGE:
                        merges = (merges or []) + [value_node]
                        continue
                elif tag is not _QUOTED:
                    key = _key_text(_tagged(key_node))
                if key in out:
                    assert isinstance(node, MappingNode)  # cls is MappingNode
                    self._duplicate(node, key, key_node)
                if value_node.__class__ is ScalarNode:
                    tag = value_node.tag
                    text = value_node.value
                    chars += len(text)
                    if tag is _PLAIN:
                        value: Any = _CONSTANTS.get(text, text)
                        if value is text and text[0] in _NUMBER_START:
                            value = _number(text)
                        out[key] = value
                    elif tag is _QUOTED:
                        out[key] = text
                    else:
                        out[key] = _tagged(value_node)
                else:
                    out[key] = self._value(value_node, depth + 1)
            if chars:
                self._spend(chars, node)
            if merges:
                self._merge(out, merges, depth)
            return out
        if cls is SequenceNode:
            if node.tag is not _COLLECTION and node.tag != _SEQ_TAG:
                raise _TagError(_tag_message(node.tag), node.start_mark.line + 1)
            items = node.value
            self.budget -= len(items)
            if self.budget < 0:
                raise _LimitError(_ALIAS_MESSAGE, node)
            result: list[Any] = []
            append = result.append
            chars = 0
            for item in items:
                if item.__class__ is ScalarNode:
                    text = item.value
                    chars += len(text)
                    tag = item.tag
                    if tag is _QUOTED:
                        append(text)
                    elif tag is _PLAIN:
                        append(_plain(text))
                    else:
                        assert isinstance(item, ScalarNode)  # item.__class__ is ScalarNode
                        append(_tagged(item))
                else:
                    append(self._value(item, depth + 1))
            if chars:
                self._spend(chars, node)
            return result
        raise _TagError(f"unexpected YAML node {type(node).__name__}", node.start_mark.line + 1)

    def _merge(self, out: dict[str, Any], values: list[Node], depth: int) -> None:
        """``<<: *base`` (or a list of them): keys the mapping does not set
        itself come from the merged mappings, earlier ones first. A merge
        counts as a level: a chain of merges recurses like nesting."""
        for value_node in values:
            sources = value_node.value if value_node.__class__ is SequenceNode else [value_node]
            for source in sources:
                merged = self._value(source, depth + 1)
                if not isinstance(merged, dict):
                    raise _TagError("`<<` merges mappings only", source.start_mark.line + 1)
                for key, item in merged.items():
                    out.setdefault(key, item)

    def _duplicate(self, mapping: MappingNode, key: str, key_node: Node) -> None:
        first = 0
        for other, _ in mapping.value:
            if other is key_node:
                break
            if other.__class__ is ScalarNode and other.value == key:
                first = other.start_mark.line + 1
                break
        self.duplicates.append(_Duplicate(mapping, key, key_node.start_mark.line + 1, first))


_ALIAS_MESSAGE = "YAML aliases expand beyond the size limit (an alias bomb, or an alias inside itself)"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


def _tag_message(tag: str) -> str:
    return f"unsupported YAML tag {tag!r} (Kubernetes manifests are plain JSON data: remove the tag)"


def _alias_loop(root: Node) -> Node | None:
    """The node an alias inside itself points back to (``&a`` ... ``*a``
    within the node it anchors), found iteratively; None when the graph has
    no cycle (the nesting is just deep)."""
    done: set[int] = set()
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            done.add(id(node))
            continue
        if id(node) in on_path:
            return node
        if id(node) in done or node.__class__ is ScalarNode:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        children = [v for pair in node.value for v in pair] if node.__class__ is MappingNode else node.value
        stack.extend((child, False) for child in children)
    return None


def _tagged(node: ScalarNode) -> Any:
    convert = _TAGGED_SCALARS.get(node.tag)
    if convert is None:
        raise _TagError(_tag_message(node.tag), node.start_mark.line + 1)
    try:
        return convert(node.value)
    except _TagError as exc:
        raise _TagError(str(exc), node.start_mark.line + 1) from None


# --------------------------------------------------------------------------
# Paths and lines.

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*\Z")


def format_path(path: JsonPath) -> str:
    """``spec.template.spec.containers[0].image`` (keys with dots quoted)."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.match(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out) or "(document)"


def _node_path(root: Node, target: Node) -> JsonPath | None:
    """The JSON path of ``target`` inside ``root`` (aliases followed once)."""
    stack: list[tuple[Node, JsonPath]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.__class__ is MappingNode:
            for key, value in node.value:
                if key.__class__ is ScalarNode:
                    stack.append((value, path + (key.value,)))
        elif node.__class__ is SequenceNode:
            for index, item in enumerate(node.value):
                stack.append((item, path + (index,)))
    return None


def _line_in(root: Node, path: JsonPath) -> int:
    """Line of the deepest node of ``path`` found under ``root``: a key's own
    line for mapping entries, the item's line for sequence entries."""
    node = root
    line = root.start_mark.line + 1
    for part in path:
        if node.__class__ is MappingNode and isinstance(part, str):
            found = _find_key(node, part)
            if found is None:
                break
            key_node, node = found
            line = key_node.start_mark.line + 1
        elif node.__class__ is SequenceNode and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _find_key(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    found: tuple[Node, Node] | None = None
    merges: list[Node] = []
    for key_node, value_node in mapping.value:
        if key_node.__class__ is not ScalarNode:
            continue
        if key_node.value == key:
            found = (key_node, value_node)  # last one wins, as in the body
        elif key_node.value == _MERGE and key_node.tag is _PLAIN:
            merges.extend(value_node.value if value_node.__class__ is SequenceNode else [value_node])
    if found is None:
        for merged in merges:
            if merged.__class__ is MappingNode:
                found = _find_key(merged, key)
                if found is not None:
                    break
    return found


class _DocumentLines:
    """Finds lines inside one document of a text, parsing it again (with
    marks) on first use only: most objects never need a field's line."""

    __slots__ = ("text", "first_line", "last_line", "root")

    def __init__(self, text: str, first_line: int, last_line: int) -> None:
        self.text = text
        self.first_line = first_line  # 0-based, first line of the document's root node
        self.last_line = last_line  # 0-based, line where the root node ends
        self.root: Node | None = None

    def __call__(self, path: JsonPath) -> int | None:
        if not path:
            return self.first_line + 1
        root = self.root
        if root is None:  # two threads may both parse; either result is the same
            root = self.root = self._parse()
        if root is None:
            return None
        return _line_in(root, path) + self.first_line

    def _parse(self) -> Node | None:
        lines = self.text.splitlines(keepends=True)
        chunk = "".join(lines[self.first_line : self.last_line + 1])
        try:
            with _collector_paused():  # as for the load: a node tree has no cycles to collect
                roots = _compose_all(chunk, "")
        except ShipyardError:
            return None
        return roots[0] if roots else None


# --------------------------------------------------------------------------
# Documents.


@dataclass(slots=True)
class _Document:
    body: Any  # None for an empty document
    line: int  # 1-based line of the document's content
    duplicates: list[tuple[JsonPath, int, int]]  # (path of the key, its line, line of the first one)
    lines: Callable[[JsonPath], int | None]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a text is loaded.

    Loading allocates a few hundred container objects per document, none of
    them in reference cycles, and a validate run keeps every object alive:
    the collector's full passes over that growing heap doubled load time.
    Reference counting still frees everything; the collector is restored
    (only if it was on) when the text is loaded."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _documents(
    text: str, path: str, *, strict: bool = False, share: bool = False, source: FileText | None = None
) -> list[_Document]:
    """Every document of ``text``; JSON texts take json's C parser. A
    ``strict`` read (``load_located``) indexes every line at once and
    refuses unquoted timestamps that name no date. ``share``: equal values
    of a large text are built once (``shipyard.yaml_fast._Sharing``), for
    object bodies, which nothing changes in place. (The collector is paused
    as ``_collector_paused`` does, written out: a validate run of 200,000
    small generated files calls this 400,000 times.)"""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _documents_of(text, path, strict, share, source)
    finally:
        if was_enabled:
            gc.enable()


def _documents_of(
    text: str, path: str, strict: bool, share: bool = False, source: FileText | None = None
) -> list[_Document]:
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        parsed = _json_document(text)
        if parsed is not None:
            return [parsed]
    if not strict and len(text) >= FAST_MIN_CHARS:
        fast = _fast_documents(text, path, share, source)
        if fast is not None:
            return fast
    return _exact_documents(text, path, strict)


FAST_MIN_CHARS = 32 * 1024
"""Texts at least this long are read by ``shipyard.yaml_fast`` (rapidyaml,
several times faster on large texts, the same result); shorter ones, and
every strict read, by libyaml here: for them importing rapidyaml (~60 ms)
would cost more than it saves."""


def _fast_documents(text: str, path: str, share: bool = False, source: FileText | None = None) -> list[_Document] | None:
    """The documents of ``text`` read by ``shipyard.yaml_fast``, the ones it
    leaves to the exact reader read here one by one (lines shifted to their
    place in the text). None hands the whole text to the exact reader:
    rapidyaml is not installed, the text has directives or ``...`` markers
    (which tie documents together), or it is malformed (libyaml's parser
    says so first; the exact reader words the error for the whole text)."""
    if text.startswith("%") or "\n%" in text or _DOCUMENT_END.search(text):
        return None
    from shipyard import yaml_fast

    if not yaml_fast.available():
        return None
    parser = _new_composer(text, path)
    try:
        parser.raw_parse()  # libyaml's syntax check, in C: what it refuses, rapidyaml must not read
    except yaml.YAMLError:
        return None
    finally:
        parser.dispose()
        del parser  # it holds the text encoded, as large as the file, until dropped
    found = yaml_fast.chunks(text, share=share)
    if found is None:
        return None
    out: list[_Document] = []
    for chunk in found:
        if not chunk.exact:
            out.append(_Document(chunk.body, chunk.line + 1, [], _ChunkLines(source or text, chunk.start, chunk.end, chunk.line)))
            continue
        try:
            docs = _exact_documents(text[chunk.start : chunk.end], path, False)
        except ShipyardError:
            return None
        shift = chunk.line
        for doc in docs:
            duplicates = [(key_path, line + shift, first + shift if first else 0)
                          for key_path, line, first in doc.duplicates]
            out.append(_Document(doc.body, doc.line + shift, duplicates, _ShiftedLines(doc.lines, shift)))
    return out


_DOCUMENT_END = re.compile(r"^\.\.\.(?=[ \t\r\n]|\Z)", re.M)


class _ChunkLines:
    """Lines inside one document the fast reader read: ``text[start:end]``,
    whose first line is 0-based line ``line`` of the text, composed with
    marks on first use only. ``text`` is the text, or the file it was read
    from (``FileText``), read again only when a line is asked for."""

    __slots__ = ("text", "start", "end", "line", "root", "parsed")

    def __init__(self, text: "str | FileText", start: int, end: int, line: int) -> None:
        self.text = text
        self.start = start
        self.end = end
        self.line = line
        self.root: Node | None = None
        self.parsed = False

    def __call__(self, path: JsonPath) -> int | None:
        if not path:
            return self.line + 1
        if not self.parsed:  # two threads may both parse; either result is the same
            text = self.text if isinstance(self.text, str) else self.text.read()
            try:
                with _collector_paused():
                    roots = _compose_all(text[self.start : self.end], "") if text is not None else []
            except ShipyardError:
                roots = []
            self.root = roots[0] if roots else None
            self.parsed = True
        if self.root is None:
            return None
        return _line_in(self.root, path) + self.line


class FileText:
    """The text of a loaded file, for the lines of its objects: read again
    from the file the first time a finding asks for a line in it, then
    kept. A large file's text is thus not held for the whole run (it is as
    big as the file; its objects are what the checks need), and the run of
    a file with no findings never reads it twice. A file that changed on
    disk meanwhile (size or modification time) gives no lines: findings
    fall back to each object's document line, never to a wrong one."""

    __slots__ = ("path", "rel", "stamp", "_text", "_lock")

    def __init__(self, path: Path, rel: str, stamp: tuple[int, int]) -> None:
        self.path = path
        self.rel = rel
        self.stamp = stamp
        self._text: str | None = None
        self._lock = threading.Lock()

    @staticmethod
    def stamp_of(path: Path) -> tuple[int, int] | None:
        try:
            info = path.stat()
        except OSError:
            return None
        return info.st_size, info.st_mtime_ns

    def read(self) -> str | None:
        with self._lock:
            if self._text is None and self.stamp_of(self.path) == self.stamp:
                try:
                    self._text = read_text(self.path, self.rel)
                except ShipyardError:
                    return None
            return self._text


class _ShiftedLines:
    """A document's line finder for a piece of a text, moved to its place."""

    __slots__ = ("lines", "shift")

    def __init__(self, lines: Callable[[JsonPath], int | None], shift: int) -> None:
        self.lines = lines
        self.shift = shift

    def __call__(self, path: JsonPath) -> int | None:
        line = self.lines(path)
        return None if line is None else line + self.shift


def _exact_documents(text: str, path: str, strict: bool) -> list[_Document]:
    """Every document of ``text`` through libyaml's composer and ``_Builder``."""
    roots = _compose_all(text, path)
    builder = _Builder(len(text) + _ALIAS_SLACK)
    out: list[_Document] = []
    for root in roots:
        try:
            body = builder.build(root)
        except _LimitError as exc:
            raise ShipyardError(str(exc), file=path, line=exc.node.start_mark.line + 1, check=YAML_LIMIT,
                                hint=exc.hint) from None
        except _TagError as exc:
            message, line = str(exc), exc.line or root.start_mark.line + 1
            raise ShipyardError(message, file=path, line=line, check=INVALID_YAML, hint="write plain JSON-compatible YAML") from None
        except _NumberError as exc:
            raise ShipyardError(_number_message(exc.text), file=path, line=_scalar_line(root, exc.text),
                                check=INVALID_YAML, hint='quote it if it is text ("..."), or correct the number') from None
        duplicates: list[tuple[JsonPath, int, int]] = []
        if builder.duplicates:
            for dup in builder.duplicates:
                duplicates.append(((_node_path(root, dup.mapping) or ()) + (dup.key,), dup.line, dup.first_line))
            builder.duplicates = []
        first = root.start_mark.line
        lines: Callable[[JsonPath], int | None]
        if strict:
            if _may_hold_an_impossible_date(text):
                _refuse_impossible_dates(root, path)
            lines = _IndexedLines(root)
        else:
            lines = _DocumentLines(text, first, root.end_mark.line)
        out.append(_Document(body, first + 1, duplicates, lines))
    return out


def _scalar_line(root: Node, text: str) -> int:
    """The line of the first scalar whose text is ``text`` (for an error
    found while building, which does not know its node)."""
    stack: list[Node] = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node.__class__ is ScalarNode:
            if node.value == text:
                return node.start_mark.line + 1
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        children = [v for pair in node.value for v in pair] if node.__class__ is MappingNode else node.value
        stack.extend(reversed(children))
    return root.start_mark.line + 1


def _nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether parsed JSON nests more than ``limit`` collections deep
    (iteratively: json's parser goes near a thousand levels)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if item.__class__ is dict:
            children: Iterable[Any] = item.values()
        elif item.__class__ is list:
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if child.__class__ in (dict, list))
    return False


class _DuplicateInJson(Exception):
    pass


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateInJson
    return out


def _json_document(text: str) -> _Document | None:
    """A JSON text through the C JSON parser; None hands it to the YAML path
    (not JSON after all, or duplicate keys, whose lines YAML finds)."""
    try:
        body = json.loads(text, object_pairs_hook=_json_pairs)
    except (ValueError, _DuplicateInJson, RecursionError):
        return None
    if text.count("[") + text.count("{") > MAX_DEPTH and _nests_deeper_than(body, MAX_DEPTH):
        return None  # the YAML path refuses it, with the line
    lead = len(text) - len(text.lstrip())
    first = text.count("\n", 0, lead)
    return _Document(body, first + 1, [], _DocumentLines(text, first, text.count("\n")))


# --------------------------------------------------------------------------
# The strict reader's lines: an index built once, from the nodes of the load.

# A mapping's entries by key, a sequence's items by index: each the line of
# the entry (the key's line, the item's line), or (that line, the entry's own
# index) when the entry is a collection.
_LineTree = dict[str, Any] | list[Any]

_TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9]{1,2})(?::(?P<tz_minute>[0-9]{2}))?))?)?\Z"
)
"""A YAML 1.1 timestamp, as PyYAML and ruamel.yaml resolve an unquoted one."""


def _timestamp_problem(text: str) -> str | None:
    """Why the unquoted ``text`` is a timestamp no date exists for, or None.

    Kubernetes keeps such a value as a string, but a YAML 1.1 reader with
    timestamps (ruamel.yaml, which edits pins and model.yaml, and PyYAML)
    builds a date from it and fails: ``2026-02-30`` has no day 30."""
    match = _TIMESTAMP.match(text)
    if match is None or (match["hour"] is None and (len(match["month"]) != 2 or len(match["day"]) != 2)):
        return None  # a date alone is a timestamp only as YYYY-MM-DD
    try:
        year, month, day, hour, minute, second = (int(match[name] or 0)
                                                  for name in ("year", "month", "day", "hour", "minute", "second"))
        datetime(year, month, day, hour, minute, second)
        if match["tz_sign"]:
            timezone(timedelta(hours=int(match["tz_hour"]), minutes=int(match["tz_minute"] or 0)))
    except ValueError as exc:
        return str(exc)
    return None


_DATE_LIKE = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?"
)
"""Anything in a text that may be a timestamp, quoted or not."""


def _may_hold_an_impossible_date(text: str) -> bool:
    """Whether any timestamp-like part of ``text`` names no date, found at
    C speed (a model.yaml holds a date per version, mostly the same ones):
    only then are the nodes walked to see whether one is unquoted."""
    return any(_timestamp_problem(candidate) is not None for candidate in set(_DATE_LIKE.findall(text)))


def _refuse_impossible_dates(root: Node, path: str) -> None:
    """Refuse an unquoted timestamp that names no date (see
    ``_timestamp_problem``), in keys and values alike: the files read
    strictly (pins, model.yaml, settings, metrics) are the ones edited in
    place by ruamel.yaml, which would fail on it with a bare ValueError."""
    stack: list[Node] = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node.__class__ is ScalarNode:
            text = node.value
            if node.tag is _PLAIN and text[:1].isdigit() and len(text) >= 8:
                problem = _timestamp_problem(text)
                if problem is not None:
                    raise ShipyardError(
                        f"{text} is read as a date by YAML, and it is not one ({problem})", file=path,
                        line=node.start_mark.line + 1, check=INVALID_YAML,
                        hint=f'quote it ("{text}") if it is text, or correct the date',
                    )
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.__class__ is MappingNode:
            stack.extend(part for pair in node.value for part in pair)
        else:
            stack.extend(node.value)


class _IndexedLines:
    """Lines of one strictly read document. A settings file, a pin or a
    model.yaml asks for the line of nearly every key it checks (a model.yaml
    of 100,000 versions, for every version): parsing the text again for
    that, as ``_DocumentLines`` does for a manifest, and keeping libyaml's
    node tree (hundreds of bytes per node), cost more time and memory than
    the load. The nodes of the load are kept instead, until the first line
    is asked for; then a compact index of lines replaces them."""

    __slots__ = ("root", "first_line", "tree")

    def __init__(self, root: Node) -> None:
        self.root: Node | None = root
        self.first_line: int = root.start_mark.line + 1
        self.tree: Any = None

    def __call__(self, path: JsonPath) -> int | None:
        """The line of the deepest part of ``path`` that exists, as
        ``_line_in`` finds it in the nodes."""
        if not path:
            return self.first_line
        root = self.root
        if root is not None:  # two threads may both index; either result is the same
            with _collector_paused():  # as for the load: the index has no cycles to collect
                self.tree = _line_tree(root, {})
            self.root = None
        line = self.first_line
        tree = self.tree
        for part in path:
            if isinstance(tree, dict) and isinstance(part, str):
                entry = tree.get(part)
                if entry is None:
                    break
            elif isinstance(tree, list) and isinstance(part, int) and 0 <= part < len(tree):
                entry = tree[part]
            else:
                break
            if isinstance(entry, int):
                line, tree = entry, None
            else:
                line, tree = entry
        return line


def _line_tree(node: Node, memo: dict[int, _LineTree]) -> _LineTree | None:
    """The index of ``node`` (None for a scalar). Nodes an alias shares are
    indexed once; the loader has refused loops and nesting past
    ``MAX_DEPTH`` already, so the recursion is shallow. Keys merged with
    ``<<`` are found as the mapping finds them: its own first, then the
    merged mappings', earlier ones first."""
    cls = node.__class__
    if cls is ScalarNode:
        return None
    known = memo.get(id(node))
    if known is not None:
        return known
    if cls is MappingNode:
        entries: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.value == _MERGE and key_node.tag is _PLAIN:
                merges.extend(value_node.value if value_node.__class__ is SequenceNode else [value_node])
                continue
            line = key_node.start_mark.line + 1
            child = _line_tree(value_node, memo)
            entries[key_node.value] = line if child is None else (line, child)
        for merged in merges:
            found = _line_tree(merged, memo)
            if isinstance(found, dict):
                for key, entry in found.items():
                    entries.setdefault(key, entry)
        memo[id(node)] = entries
        return entries
    items: list[Any] = []
    for item in node.value:
        child = _line_tree(item, memo)
        line = item.start_mark.line + 1
        items.append(line if child is None else (line, child))
    memo[id(node)] = items
    return items


# --------------------------------------------------------------------------
# Public API.


def load_text(text: str, path: str, *, target: str = "", source: FileText | None = None) -> Loaded:
    """Every Kubernetes object in the YAML (or JSON) ``text`` of ``path``.

    Documents that are not objects give SY104 findings; duplicate keys give
    SY103 findings (the last value wins, as with kubectl). Malformed YAML,
    unsupported tags, alias bombs and absurd nesting raise ShipyardError.
    (The collector stays paused while the objects are made, as it is for
    the documents: re-enabled in between, its passes over the documents
    just built cost as much as reading them. After a large text it is
    frozen, see the module's docstring.) ``source``: the file ``text`` was
    read from, for lines asked after ``text`` is gone (``FileText``)."""
    with _collector_paused():
        loaded = _load_text(text, path, target, source)
        if len(text) >= FAST_MIN_CHARS:
            gc.freeze()
    return loaded


def _load_text(text: str, path: str, target: str, source: FileText | None = None) -> Loaded:
    objects: list[K8sObject] = []
    findings: list[Finding] = []
    for doc in _documents(text, path, share=True, source=source):
        body = doc.body
        if body is None:
            continue
        if body.__class__ is not dict:
            what = "a list" if isinstance(body, list) else f"a {_scalar_name(body)}"
            findings.append(
                Finding(
                    NOT_AN_OBJECT, f"document is {what}, not a Kubernetes object", path, doc.line,
                    hint="each YAML document must be one mapping with apiVersion, kind and metadata", target=target,
                )
            )
            continue
        if _is_list_kind(body):
            for key_path, line, first_line in doc.duplicates:
                first = f" (first at line {first_line})" if first_line else ""
                findings.append(Finding(DUPLICATE_KEY, f"duplicate key {format_path(key_path)}{first}: only the last "
                                        "value is kept", path, line, hint="remove one of the two keys; YAML readers "
                                        "silently drop the earlier value", target=target))
            objects.extend(_list_items(body, doc, path, target, findings))
            continue
        obj = K8sObject(body=body, source=Source(path, doc.line), target=target, line_resolver=doc.lines)
        api_version, kind = body.get("apiVersion"), body.get("kind")
        complete = api_version and kind and api_version.__class__ is str and kind.__class__ is str
        for key_path, line, first_line in doc.duplicates:
            first = f" (first at line {first_line})" if first_line else ""
            findings.append(
                Finding(
                    DUPLICATE_KEY,
                    f"duplicate key {format_path(key_path)}{first}: only the last value is kept",
                    path, line,
                    hint="remove one of the two keys; YAML readers silently drop the earlier value",
                    object=obj.ref if complete else None,
                    target=target,
                )
            )
        if not complete:
            missing = [name for name in ("apiVersion", "kind") if not isinstance(body.get(name), str) or not body.get(name)]
            findings.append(
                Finding(
                    NOT_AN_OBJECT,
                    f"document has no {' and no '.join(missing)}: it is not a Kubernetes object",
                    path, doc.line,
                    hint="add apiVersion and kind (or keep non-object YAML out of manifest folders)",
                    target=target,
                )
            )
            continue
        objects.append(obj)
    return Loaded(objects, findings)


def _is_list_kind(body: dict[str, Any]) -> bool:
    """A ``v1 List`` or ``RoleList``-style document: kubectl and kustomize
    apply its items one by one, and the list itself is never an object (it
    needs no metadata). Both decide by a kind ending in "List" with an
    ``items`` list (kustomize api/resource/factory.go, kubectl's
    FlattenListVisitor)."""
    kind = body.get("kind")
    return kind.__class__ is str and kind.endswith("List") and isinstance(body.get("items"), list)


def _list_items(body: dict[str, Any], doc: Any, path: str, target: str, findings: list[Finding]) -> list[K8sObject]:
    """The items of a list document as objects, each with the lines of its
    own place in the file."""
    objects: list[K8sObject] = []
    for index, item in enumerate(body["items"]):
        base: JsonPath = ("items", index)
        line = doc.lines(base) or doc.line

        def resolver(sub: JsonPath, base: JsonPath = base) -> int | None:
            return doc.lines(base + tuple(sub))

        complete = isinstance(item, dict) and all(
            isinstance(item.get(name), str) and item.get(name) for name in ("apiVersion", "kind"))
        if not complete:
            findings.append(Finding(
                NOT_AN_OBJECT, f"items[{index}] of the {body['kind']} is not a Kubernetes object (no apiVersion or kind)",
                path, line, hint="give each item apiVersion, kind and metadata", target=target))
            continue
        objects.append(K8sObject(body=item, source=Source(path, line), target=target, line_resolver=resolver))
    return objects


def _scalar_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def load_file(path: Path, rel: str, *, target: str = "") -> Loaded:
    """``load_text`` of a file, read as UTF-8 (a BOM is allowed). The text
    is not kept: lines are found in the file again (``FileText``)."""
    stamp = FileText.stamp_of(path)
    text = read_text(path, rel)
    source = FileText(path, rel, stamp) if stamp is not None else None
    return load_text(text, rel, target=target, source=source)


def load_documents(text: str, path: str) -> list[tuple[Any, int]]:
    """Every non-empty document of ``text`` as plain data, with its 1-based
    start line: for YAML that is not Kubernetes objects (values files,
    kustomization.yaml). Duplicate keys keep the last value."""
    return [(doc.body, doc.line) for doc in _documents(text, path) if doc.body is not None]


def load_documents_located(text: str, path: str) -> list[Located]:
    """``load_documents`` with the line of any field of each document (found
    on first use), for a reader that must point into a file it reads as
    leniently as kustomize does: duplicate keys keep the last value."""
    return [Located(doc.body, doc.lines) for doc in _documents(text, path) if doc.body is not None]


def file_size(path: Path, rel: str) -> int:
    """The size of a file the loader may read, checked without opening it:
    a clear error when it is missing, not a regular file (a FIFO would block
    forever, /dev/zero would never end) or larger than ``MAX_FILE_BYTES``.
    For files read as they are rather than as YAML (kustomize's generator
    files), and by ``read_text``."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ShipyardError(f"cannot read file: {exc.strerror or exc}", file=rel, check="SY900") from None
    if not stat.S_ISREG(info.st_mode):
        raise ShipyardError(
            f"not a regular file ({_file_type(info.st_mode)}): only regular files are read",
            file=rel, check="SY900", hint="name a file: a pipe or a device would block, or never end",
        )
    if info.st_size > MAX_FILE_BYTES:
        raise ShipyardError(
            f"file is {info.st_size / 2**20:.0f} MiB, beyond the loader's limit of {MAX_FILE_BYTES // 2**20} MiB",
            file=rel, check=YAML_LIMIT,
            hint="Kubernetes stores at most about 1.5 MiB per object: split the file or keep generated data out of manifests",
        )
    return info.st_size


def read_text(path: Path, rel: str) -> str:
    """A file's text; a clear error when it is missing, not a regular file,
    larger than ``MAX_FILE_BYTES`` (see ``file_size``), or not UTF-8."""
    size = file_size(path, rel)
    try:
        data = _read_bounded(path, size)
    except OSError as exc:
        raise ShipyardError(f"cannot read file: {exc.strerror or exc}", file=rel, check="SY900") from None
    if len(data) > MAX_FILE_BYTES:  # grew while we looked
        raise ShipyardError(f"file is larger than the loader's limit of {MAX_FILE_BYTES // 2**20} MiB",
                            file=rel, check=YAML_LIMIT, hint="split the file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ShipyardError("file is UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8",
                            file=rel, line=1, check=INVALID_YAML, hint="save the file as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ShipyardError(
            f"file is not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line})",
            file=rel, line=line, check=INVALID_YAML, hint="save the file as UTF-8",
        ) from None


def _read_bounded(path: Path, size: int) -> bytes:
    """The file's bytes, stopping just past ``MAX_FILE_BYTES``. One read of
    the size stat gave (read(n) allocates n bytes up front, so never the
    limit itself), then more only if the file grew meanwhile."""
    with path.open("rb") as handle:
        parts = [handle.read(min(size, MAX_FILE_BYTES) + 1)]
        total = len(parts[0])
        while total <= MAX_FILE_BYTES and len(parts[-1]) > 0 and total > size:
            parts.append(handle.read(min(2**20, MAX_FILE_BYTES + 1 - total)))
            total += len(parts[-1])
    return b"".join(parts)


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def load_config(path: Path, rel: str) -> tuple[dict[str, Any], Callable[[JsonPath], int | None]]:
    """A settings file (shipyard.yaml, cluster.yaml): one YAML mapping, and
    a function giving the line of any field in it (for errors).

    Settings are read strictly, unlike manifests: a duplicate key is an
    error (the earlier value would silently lose), and so is a second
    document or a top level that is not a mapping. An empty file is {}."""
    located = load_located_file(path, rel)
    if located.data is None:
        return {}, located.line_of
    if located.data.__class__ is not dict:
        raise ShipyardError("expected a mapping (key: value) at the top level", file=rel, line=located.line(),
                            check=INVALID_YAML, hint="see docs/layout.md for what this file holds")
    return located.data, located.line_of


@dataclass(frozen=True)
class Located:
    """One YAML document read strictly (the reader of settings, model.yaml
    and pin files), and the line of any field in it, so a problem found in
    the data can name the line a person has to edit."""

    data: Any
    line_of: Callable[[JsonPath], int | None]

    def line(self, path: Iterable[str | int] = ()) -> int:
        """The line of ``path``, or of its nearest parent that exists (1 for none)."""
        return self.line_of(tuple(path)) or 1


def load_located(text: str, rel: str) -> Located:
    """One YAML document of ``text`` (empty: ``None`` data), bounded like
    every load: malformed YAML is SY910, aliases or nesting beyond the
    limits SY911, a duplicate key SY103 (YAML readers silently keep the
    last value, which hides a real mistake), a second document SY910."""
    docs = _documents(text, rel, strict=True)
    present = [doc for doc in docs if doc.body is not None]
    if not present:
        return Located(None, lambda _path: None)
    if len(present) > 1:
        raise ShipyardError(
            f"expected one YAML document, found {len(present)}", file=rel, line=present[1].line,
            check=INVALID_YAML, hint="remove the `---` and the documents after the first",
        )
    doc = present[0]
    if doc.duplicates:
        key_path, line, first_line = doc.duplicates[0]
        first = f" (first at line {first_line})" if first_line else ""
        raise ShipyardError(
            f"duplicate key {format_path(key_path)}{first}", file=rel, line=line, check=DUPLICATE_KEY,
            hint="keep one of the two keys: YAML readers silently drop the earlier value",
        )
    return Located(doc.body, doc.lines)


def load_located_file(path: Path, rel: str) -> Located:
    """``load_located`` of a file, read within the loader's size and type limits."""
    return load_located(read_text(path, rel), rel)
