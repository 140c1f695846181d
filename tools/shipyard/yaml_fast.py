"""The fast reader of large YAML texts: rapidyaml parses, json builds.

``shipyard.load`` reads every rendered object of a validate run, and its
exact reader (libyaml's composer plus a Python walk, see that module) costs
about what a bare PyYAML parse costs. For large texts this module does the
same job several times faster, and gives the same result or none:

0. libyaml's parser checks the whole text first, in C, without building
   anything (``raw_parse``, a tenth of the time of a load): rapidyaml
   accepts some malformed YAML that libyaml refuses (a plain scalar that
   starts with ``]``, a key of 1,024 characters...), and a text libyaml
   refuses goes to the exact reader whole, for its error message.
1. The text is cut into documents at its ``---`` lines (a document marker
   at the start of a line is never part of a scalar in YAML, and libyaml
   refuses one inside a quoted scalar or a flow collection),
   so each document keeps its own line and character range.
2. rapidyaml (C++, PyPI ``rapidyaml``) parses each document and emits it as
   JSON; ``json``'s C decoder builds the dicts and lists. rapidyaml keeps
   quoted scalars as JSON strings and writes plain ``true``/``false``/
   ``null`` and decimal integers bare, so what a plain scalar meant stays
   visible in the JSON.
3. Every way the result could differ from the exact reader's sends that
   document back to it (``Chunk.exact``): YAML 1.1 words and
   numbers that YAML 1.2 reads otherwise (``yes``, ``on``, ``0755``,
   ``1_000``, ``.inf``, keys such as ``True:``), any float (rapidyaml
   rewrites ``.5`` to ``0.5``), merge keys, duplicate keys (their lines come
   from the exact reader), tags, anchors and aliases (the alias-bomb budget
   lives there), tabs, control characters and YAML 1.1-only line breaks,
   nesting past ``MAX_DEPTH``, anything rapidyaml refuses. Malformed YAML
   thus always gets the exact reader's error message.

Lines of fields are found lazily, as for every object: the document's
range of the text is composed again with marks when a finding asks.

rapidyaml reports its parse errors on the process's standard error (fd 2)
before raising; that output is caught while it parses (``_quiet_stderr``)
so a document it refuses and the exact reader accepts prints nothing.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

__all__ = ["Chunk", "available", "chunks"]

MARKER = re.compile(r"^---(?=[ \r\n]|\Z)", re.M)
"""A document start marker (tabs after it send the text to the exact reader)."""

_SLOW_CHARS = re.compile("[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\u2028\u2029\ud800-\udfff\ufffe\uffff]")
"""Characters the exact reader handles alone: tabs (libyaml refuses them
in indentation), characters libyaml refuses or reads as line breaks."""

_ASCII_SLOW_CHARS = re.compile("[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""``_SLOW_CHARS`` for an ASCII text (a search of half the time)."""

_GLUED_QUESTION = re.compile(r"\?(?![ \t\r\n])")
"""A ``?`` glued to what follows (the candidates ``_glued_flow_key`` judges)."""

_OTHER_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
"""Line breaks for libyaml besides \\n and \\r\\n: a text holding one goes to
the exact reader whole, since lines here are counted in \\n."""

_BLANK_LINES = re.compile(r"(?:[ ]*(?:#[^\n]*)?\r?\n)*")
"""Blank and comment lines before a document's content."""

_CANDIDATE = re.compile(
    r'"(?=[-+.0-9~<YyNnOoTtF"])(|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|True|TRUE|False|FALSE|Null|NULL|~|<<'
    r'|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)|[-+]?[.0-9][.0-9a-fA-FxXoObB_]*)"(:?)'
)
"""JSON strings that a plain YAML 1.1 scalar with the same text would not
be (followed by ``:`` when they are keys); each is judged by ``_ambiguous``."""

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\Z")

_BATCH = 200
"""Documents decoded by one ``json.loads`` call (keys are shared within one)."""

_STDERR_LOCK = threading.Lock()


@dataclass(slots=True)
class Chunk:
    """One document of the text: ``text[start:end]``, whose content starts
    on 0-based line ``line``. ``body`` is its value, or None when the exact
    reader must read it (``exact``); empty documents are not chunks."""

    start: int
    end: int
    line: int
    body: Any = None
    exact: bool = False


_ryml: Any = None
_tried = False


def available() -> bool:
    """Whether rapidyaml can be imported (imported on first use only: it
    costs ~60 ms, which small texts never pay)."""
    global _ryml, _tried
    if not _tried:
        try:
            import ryml  # type: ignore[import-untyped]
        except ImportError:  # the exact reader does everything, only slower
            _ryml = None
        else:
            _ryml = ryml
        _tried = True
    return _ryml is not None


class _Bail(Exception):
    """The document goes to the exact reader."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Bail  # a duplicate key: the exact reader reports it with its lines
    return out


class _Sharing:
    """An ``object_pairs_hook`` that builds each equal value once per batch.

    Rendered manifests repeat themselves: the same labels, resources,
    probes, security contexts, ports and environment entries in object
    after object. A dict costs 184 bytes or more and a string about 50, so
    10,000 Deployments held as plain JSON values take about 50 MB, three
    quarters of it in such repeats. Here equal strings become one string,
    and a dict or list whose values are all scalars or already-shared
    values (checked bottom-up, as ``json`` builds them) becomes the one
    built first: the objects of a validate run take less than half the
    memory, for a few hundredths of a second.

    A shared value is read by every object that holds it, which is sound
    because bodies are never changed in place (they are already shared
    between targets and with the render cache, see
    ``shipyard.render.engine.Renderer.to_objects``); a test runs every check
    on shared bodies and compares them before and after. Equal means equal
    as JSON with types kept: ``true`` and ``1`` are never merged.

    The tables live for one batch of documents (``_BATCH``), so what they
    cost on the way is bounded by the batch, not by the text."""

    __slots__ = ("_strings", "_values", "_shared")

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        self._values: dict[tuple[Any, ...], Any] = {}
        self._shared: set[int] = set()  # ids of values held in _values

    def pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        strings, shared = self._strings, self._shared
        out: dict[str, Any] = {}
        key: list[Any] = []
        whole = True
        for name, value in pairs:
            kind = value.__class__
            if kind is str:
                value = strings.setdefault(value, value)
                key.append((name, value))
            elif kind is int or kind is bool or value is None:
                key.append((name, kind, value))
            elif id(value) in shared:
                key.append((name, id(value)))
            elif kind is list and (one := self._list(value)) is not None:
                value = one
                key.append((name, id(one)))
            else:
                whole = False
            out[name] = value
        if len(out) != len(pairs):
            raise _Bail  # a duplicate key: the exact reader reports it with its lines
        if not whole:
            return out
        return self._one(tuple(key), out)

    def _list(self, items: list[Any]) -> list[Any] | None:
        """The shared list equal to ``items``, or None when an item is not
        a scalar or a shared value (its strings are shared all the same)."""
        strings, shared = self._strings, self._shared
        key: list[Any] = []
        whole = True
        for index, item in enumerate(items):
            kind = item.__class__
            if kind is str:
                items[index] = item = strings.setdefault(item, item)
                key.append(item)
            elif kind is int or kind is bool or item is None:
                key.append((kind, item))
            elif id(item) in shared:
                key.append(id(item))
            elif kind is list and (one := self._list(item)) is not None:
                items[index] = one
                key.append(id(one))
            else:
                whole = False
        if not whole:
            return None
        return self._one(("list", tuple(key)), items)

    def _one(self, key: tuple[Any, ...], value: Any) -> Any:
        known = self._values.get(key)
        if known is not None:
            return known
        self._values[key] = value
        self._shared.add(id(value))
        return value


def _no_float(_text: str) -> Any:
    raise _Bail


def _decode(text: str, hook: Callable[[list[tuple[str, Any]]], dict[str, Any]] = _pairs) -> Any:
    return json.loads(text, object_pairs_hook=hook, parse_float=_no_float, parse_constant=_no_float)


def _ambiguous(text: str, is_key: bool) -> bool:
    """Whether the JSON string ``text`` may stand for a plain YAML 1.1
    scalar whose value is not that string. rapidyaml writes plain decimal
    numbers, ``true``, ``false`` and ``null`` bare, so a JSON string of
    that form was quoted in the YAML; keys are always JSON strings."""
    from shipyard.load import _NumberError, _key_text, _plain

    if text == "<<":
        return True  # a merge key when plain
    if not is_key and (text == "" or _JSON_NUMBER.match(text)):
        return False
    try:
        value = _plain(text) if text else None
    except _NumberError:
        return True
    if is_key:
        return _key_text(value) != text
    return value is not text


def chunks(text: str, *, share: bool = False) -> list[Chunk] | None:
    """The documents of ``text``, each read here or marked for the exact
    reader; None when rapidyaml is not installed or the text has line
    breaks other than \\n and \\r\\n (the exact reader reads it whole).
    ``share``: equal values are built once (``_Sharing``), for bodies that
    nothing changes in place."""
    if not available() or (("\r" in text or not text.isascii()) and _OTHER_BREAKS.search(text)):
        return None
    bounds = [0, *(m.start() for m in MARKER.finditer(text)), len(text)]
    out: list[Chunk] = []
    line = 0
    at = 0
    for k in range(len(bounds) - 1):
        start, end = bounds[k], bounds[k + 1]
        if start == end:
            continue
        content = start
        if k > 0:  # skip the marker, unless the content starts on its line
            eol = text.find("\n", start, end)
            rest = text[start + 3 : end if eol < 0 else eol].strip()
            if not rest or rest.startswith("#"):
                content = end if eol < 0 else eol + 1
        content = _BLANK_LINES.match(text, content, end).end()  # type: ignore[union-attr]
        if content >= end or not text[content:end].strip():
            continue  # nothing but comments: an empty document
        line += text.count("\n", at, content)
        at = content
        out.append(Chunk(content, end, line, None, False))
    with _quiet_stderr():
        _parse(text, out, share)
    return out


def _parse(text: str, out: list[Chunk], share: bool) -> None:
    """Read the chunks ``out`` holds, ``_BATCH`` at a time (the JSON of a
    batch is dropped once decoded)."""
    tree = _ryml.Tree()
    buffer = [bytearray(1 << 16)]
    for k in range(0, len(out), _BATCH):
        pending = [(chunk, emitted) for chunk in out[k : k + _BATCH]
                   if not chunk.exact and (emitted := _emit(text, chunk, tree, buffer)) is not None]
        if not pending:
            continue
        hook = _Sharing().pairs if share else _pairs
        try:
            values = _decode("[" + ",".join(emitted for _, emitted in pending) + "]", hook)
        except (_Bail, ValueError, RecursionError):
            values = [_decode_one(emitted, hook) for _, emitted in pending]
        for (chunk, emitted), value in zip(pending, values):
            if value is None or (emitted.count("{") + emitted.count("[") > _max_depth() and _too_deep(value)):
                chunk.exact = True  # null documents, and the rare ones that need a closer look
            else:
                chunk.body = value


def _emit(text: str, chunk: Chunk, tree: Any, buffer: list[bytearray]) -> str | None:
    """The JSON of one chunk, or None (and ``chunk.exact`` set) when the
    exact reader must read it. The JSON is written into ``buffer[0]``
    (grown when too small) and decoded from there: rapidyaml 0.15.2's
    ``emit_json`` never frees the buffer it returns, about 1 KB per
    Deployment (``emit_json_to_substr`` into a buffer of ours leaks
    nothing and is faster)."""
    ryml = _ryml
    piece = text[chunk.start : chunk.end]
    # Anchors, aliases and tags are asked of rapidyaml's tree (one pass in
    # C) when one of their characters occurs at all: prose and patterns in
    # CRDs (``^[a-z]*$``, "is it ready?") hold them everywhere, and a search
    # of the text for where they may start cost more than the tree's answer.
    maybe_properties = "&" in piece or "*" in piece or "!" in piece
    slow = _ASCII_SLOW_CHARS if piece.isascii() else _SLOW_CHARS
    if (slow.search(piece) or not piece.endswith("\n")  # rapidyaml ends a last block scalar with one
            or ("?" in piece and _glued_flow_key(piece))):
        chunk.exact = True
        return None
    try:
        tree.clear()
        tree.clear_arena()
        ryml.parse_in_arena(piece.encode(), tree)
        node = tree.root_id()
        if tree.is_stream(node):
            if tree.num_children(node) != 1:
                raise _Bail
            node = tree.first_child(node)
        if maybe_properties and _has_node_properties(tree):
            raise _Bail
        failed, size = ryml.emit_json_to_substr(tree, node, buffer[0])
        if failed:
            buffer[0] = bytearray(2 * size)
            failed, size = ryml.emit_json_to_substr(tree, node, buffer[0])
            if failed:
                raise _Bail
        emitted = buffer[0][:size].decode()
    except (_Bail, ryml.ExceptionBasic, TypeError, UnicodeError, IndexError):
        chunk.exact = True
        return None
    if not isinstance(emitted, str) or any(_ambiguous(m[1], bool(m[2])) for m in _CANDIDATE.finditer(emitted)):
        chunk.exact = True
        return None
    return emitted


def _glued_flow_key(piece: str) -> bool:
    """Whether ``piece`` may hold a ``?`` glued to what follows where a flow
    collection's token starts (after ``[``, ``{`` or ``,`` and any
    whitespace, or after ``:`` and spaces): in a flow collection libyaml
    takes it for an explicit key (``{?a: b}`` is the key ``a``, ``[?a]`` a
    mapping), rapidyaml for part of a plain scalar (``?a``). A ``? ``
    followed by a space means the same to both (an explicit key), and a
    key that is a collection is refused by rapidyaml: neither needs a look."""
    for match in _GLUED_QUESTION.finditer(piece):
        at = match.start() - 1
        while at >= 0 and piece[at] in " \t\r\n":
            at -= 1
        if at >= 0 and piece[at] in "[{,":
            return True
        spaces = match.start() - 1
        while spaces >= 0 and piece[spaces] == " ":
            spaces -= 1
        if spaces < match.start() - 1 and spaces >= 0 and piece[spaces] == ":":
            return True
    return False


def _has_node_properties(tree: Any) -> bool:
    """Whether any node of the parsed document has an anchor, is an alias
    or has a tag: asked of rapidyaml's tree only when the text may hold one
    (one of ``&``, ``*``, ``!`` occurs in it), since prose and patterns such as
    ``^[a-z]*$`` or "what is this?" in a CRD's descriptions look like one
    to a search of the text."""
    ryml = _ryml
    marks = ryml.KEYANCH | ryml.VALANCH | ryml.KEYREF | ryml.VALREF | ryml.KEYTAG | ryml.VALTAG
    kind = tree.type  # one call per node: its type bits hold all six
    return any(kind(node) & marks for node in range(tree.size()))


def _decode_one(emitted: str, hook: Callable[[list[tuple[str, Any]]], dict[str, Any]]) -> Any:
    try:
        return _decode(emitted, hook)
    except (_Bail, ValueError, RecursionError):
        return None


def _max_depth() -> int:
    from shipyard.load import MAX_DEPTH

    return MAX_DEPTH


def _too_deep(value: Any) -> bool:
    from shipyard.load import MAX_DEPTH, _nests_deeper_than

    return _nests_deeper_than(value, MAX_DEPTH)


_RYML_NOISE = re.compile(rb"ERROR: \[|\(detected here\)|/c4/yml/")


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Standard error (fd 2) caught for the time rapidyaml parses: it prints
    every parse error there before raising it, and a document it refuses
    is read again by the exact reader, which has the message to show.
    Anything else written meanwhile (another thread's progress line) is
    written out afterwards. One text at a time, so that two threads never
    save and restore fd 2 across each other."""
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            yield  # no standard error to protect
            return
        sink = tempfile.TemporaryFile()
        try:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
            sink.seek(0)
            caught = sink.read()
            if caught:
                kept = b"".join(part for part in caught.splitlines(keepends=True) if not _RYML_NOISE.search(part))
                if kept:
                    os.write(2, kept)
        finally:
            os.close(saved)
            sink.close()
