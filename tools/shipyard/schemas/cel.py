"""CRD validation rules (``x-kubernetes-validations``): compiled once per
schema node, evaluated the way the API server evaluates them on create.

The API server's side is kubernetes/apiextensions-apiserver v0.34.5
(Kubernetes v1.34.5) ``pkg/apiserver/schema/cel/validation.go`` and
``compilation.go``, with the value mapping of kubernetes/apiserver
``pkg/cel/common/valuesunstructured.go`` and the environment of
``pkg/cel/environment/base.go``. What is the same here:

- ``self`` is the value at the rule's node, typed as Kubernetes types it:
  integers stay ``int``, ``number`` fields are ``double`` (an integer written
  there too), an object is a map of its *declared* properties (absent and
  null fields are absent, so ``has()`` is false; fields the schema does not
  declare are invisible, as are the contents of an object that only
  preserves unknown fields), int-or-string is ``dyn``, ``format: byte`` is
  ``bytes``; at a resource root (and an embedded resource) ``apiVersion``,
  ``kind`` and ``metadata.name``/``generateName`` are visible too;
  property names are escaped (``x-y`` is ``x__dash__y``, ``namespace`` is
  ``__namespace__``);
- a rule on a node is evaluated only where the value is present and not
  null; rules in ``allOf`` branches count; ``fieldPath``, ``reason``,
  ``message`` and ``messageExpression`` (trimmed, one line, non-empty, at
  most 5 KiB, else the message) shape the error as the API server's do;
- transition rules (those that read ``oldSelf``) are skipped on create,
  unless ``optionalOldSelf: true``, where ``oldSelf`` is ``optional.none()``;
- a runtime error (``no such key`` where a rule forgot ``has()``) refuses
  the object, like a false rule.

What is not: cost budgets are not estimated (the API server refuses a CRD
whose rules could exceed them, so a CRD that installs has rules that fit;
cel-cpp's own iteration limit stops a runaway rule, reported as not
evaluated); ``self`` is ``dyn`` rather than the schema's declared type, so a
mistake about a field's type shows at evaluation, not at compilation (a
CRD with such a rule does not install anyway); equality of list-type
set/map lists ignores order there and not here; a date, date-time or
duration *inside* ``self`` is passed as its string (the binding cannot put
a timestamp inside a dynamic map), so a rule that fails on one is reported
as not evaluated, not as failing.

The library is cel-expr-python (Google's binding of cel-cpp, pinned in
pyproject.toml). Of the maintained CEL packages on PyPI it was tried
against cel-python (celpy, pure Python) and common-expression-language
(Rust bindings), on the 54 distinct rules of every CRD the repository
renders or pins (Flux, Argo CD, prometheus-operator, KFP, Istio, the GPU
operator) plus probes of the libraries those rules use:

- cel-expr-python type-checks like cel-go, so a rule using a function the
  environment lacks fails to compile and is reported as not evaluated
  instead of passing; it has the strings extension at Kubernetes' version
  2 and optionals; custom functions are Python callables; with the
  Kubernetes libraries below, all 54 rules compile, 0.2 ms each, and the
  HelmRelease chart/chartRef rule evaluates about 54,000 times a second;
- common-expression-language does not type-check (an unknown function
  shows only when a branch reaches it), has no strings extension and no
  ``.?`` syntax: about 16,500 evaluations a second;
- celpy has no strings extension nor cross-type numeric comparison, and
  evaluated about 800 a second.

Kubernetes' own libraries are provided here in Python: URLs (``url``,
``isURL`` and the getters), regex ``find``/``findAll``, lists (``isSorted``,
``sum``, ``min``, ``max``), quantities, the sets extension and the plain
functions of the lists extension (``slice``, ``flatten``, ``sort``,
``distinct``, ``reverse``, ``lists.range``). Not provided, so reported as
not evaluated: the IP, CIDR, semver and format libraries, two-variable
comprehensions, ``sortBy``, ``first``/``last``, and the lists library's
``indexOf``/``lastIndexOf`` on a list (cel-cpp refuses a second ``indexOf``
beside the strings extension's).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Final, Literal
from urllib.parse import parse_qs

from shipyard.objects import JsonPath
from shipyard.quantities import parse_quantity
from shipyard.schemas.structural import Node

SELF: Final = "self"
OLD_SELF: Final = "oldSelf"
MAX_MESSAGE_BYTES: Final = 5 * 1024  # apiserver/pkg/apis/cel MaxEvaluatedMessageExpressionSizeBytes

Verdict = Literal["refused", "not evaluated"]


@dataclass(frozen=True)
class Outcome:
    """A rule that refused the object, or that could not be judged ("not
    evaluated"), at ``path`` in the object (the rule's fieldPath when it
    has one)."""

    verdict: Verdict
    path: JsonPath
    message: str
    rule: str
    source: JsonPath  # the rule's node in the CRD's openAPIV3Schema


@dataclass
class CompiledRule:
    """One x-kubernetes-validations entry, compiled (or why it is not)."""

    rule: str
    message: str
    reason: str
    field_path: JsonPath | None
    program: Any = None  # a cel-expr-python Expression; None: empty rule, or not compiled
    message_program: Any = None
    problem: str = ""  # why it cannot be evaluated
    uses_old_self: bool = False
    optional_old_self: bool = False
    env_kind: str = "dyn"


# --------------------------------------------------------------------------
# The environment.

_LOCK = threading.Lock()
_ENVS: dict[str, Any] = {}


def _cel() -> Any:
    """The binding, imported on first use: loading its shared libraries takes
    tens of milliseconds, which a run without a rule to compile (and every
    other command) does not pay."""
    from cel_expr_python import cel  # type: ignore[import-untyped]

    return cel


def _env(kind: str) -> Any:
    """The environment for ``self`` of one CEL type ("dyn", "timestamp",
    "duration"), or "plain": without ``oldSelf`` (to tell which rules read it)."""
    env = _ENVS.get(kind)
    if env is None:
        cel = _cel()
        from cel_expr_python.ext import ext_optional, ext_strings  # type: ignore[import-untyped]

        self_type = {"timestamp": cel.Type.TIMESTAMP, "duration": cel.Type.DURATION}.get(kind, cel.Type.DYN)
        variables = {SELF: self_type}
        if kind != "plain":
            variables[OLD_SELF] = self_type
        env = _ENVS[kind] = cel.NewEnv(
            variables=variables,
            extensions=[ext_strings.ExtStrings(2), ext_optional.ExtOptional()],
            functions=_functions(cel),
        )
    return env


def _functions(cel: Any) -> list[Any]:
    T = cel.Type
    opaque = T.Map(T.STRING, T.DYN)  # URL and Quantity values: {"__url__": ...} / {"__quantity__": ...}
    dyn_list = T.List(T.DYN)

    def decl(name: str, *overloads: tuple[str, Any, list[Any], bool, Callable[..., Any]]) -> Any:
        return cel.FunctionDecl(name, [
            cel.Overload(oid, result, params, is_member=member, impl=impl) for oid, result, params, member, impl in overloads
        ])

    return [
        # k8s.io/apiserver/pkg/cel/library/urls.go
        decl("url", ("k8s_url_string", opaque, [T.STRING], False, _url)),
        decl("isURL", ("k8s_is_url_string", T.BOOL, [T.STRING], False, _is_url)),
        decl("getScheme", ("k8s_url_scheme", T.STRING, [opaque], True, lambda u: _url_part(u, "scheme"))),
        decl("getHost", ("k8s_url_host", T.STRING, [opaque], True, lambda u: _url_part(u, "host"))),
        decl("getHostname", ("k8s_url_hostname", T.STRING, [opaque], True, lambda u: _url_part(u, "hostname"))),
        decl("getPort", ("k8s_url_port", T.STRING, [opaque], True, lambda u: _url_part(u, "port"))),
        decl("getEscapedPath", ("k8s_url_path", T.STRING, [opaque], True, lambda u: _url_part(u, "path"))),
        decl("getQuery", ("k8s_url_query", T.Map(T.STRING, T.List(T.STRING)), [opaque], True, _url_query)),
        # regex.go
        decl("find", ("k8s_find", T.STRING, [T.STRING, T.STRING], True, _find)),
        decl("findAll", ("k8s_find_all", T.List(T.STRING), [T.STRING, T.STRING], True, lambda s, p: _find_all(s, p, -1)),
             ("k8s_find_all_n", T.List(T.STRING), [T.STRING, T.STRING, T.INT], True, _find_all)),
        # lists.go
        decl("isSorted", ("k8s_is_sorted", T.BOOL, [dyn_list], True, _is_sorted)),
        decl("sum", ("k8s_sum", T.DYN, [dyn_list], True, _sum)),
        decl("min", ("k8s_min", T.DYN, [dyn_list], True, lambda v: _extreme(v, min, "min"))),
        decl("max", ("k8s_max", T.DYN, [dyn_list], True, lambda v: _extreme(v, max, "max"))),
        # (the lists library's indexOf and lastIndexOf cannot be added: cel-cpp
        # refuses a second declaration of the strings extension's functions)
        # quantity.go
        decl("quantity", ("k8s_quantity", opaque, [T.STRING], False, _quantity)),
        decl("isQuantity", ("k8s_is_quantity", T.BOOL, [T.STRING], False, lambda s: _parse_q(s) is not None)),
        decl("sign", ("k8s_q_sign", T.INT, [opaque], True, lambda q: (_q(q) > 0) - (_q(q) < 0))),
        decl("isInteger", ("k8s_q_is_integer", T.BOOL, [opaque], True, lambda q: _q(q).denominator == 1)),
        decl("asInteger", ("k8s_q_as_integer", T.INT, [opaque], True, _q_as_integer)),
        decl("asApproximateFloat", ("k8s_q_as_float", T.DOUBLE, [opaque], True, lambda q: float(_q(q)))),
        decl("add", ("k8s_q_add", opaque, [opaque, opaque], True, lambda a, b: _mk_q(_q(a) + _q(b))),
             ("k8s_q_add_int", opaque, [opaque, T.INT], True, lambda a, b: _mk_q(_q(a) + b))),
        decl("sub", ("k8s_q_sub", opaque, [opaque, opaque], True, lambda a, b: _mk_q(_q(a) - _q(b))),
             ("k8s_q_sub_int", opaque, [opaque, T.INT], True, lambda a, b: _mk_q(_q(a) - b))),
        decl("isGreaterThan", ("k8s_q_gt", T.BOOL, [opaque, opaque], True, lambda a, b: _q(a) > _q(b))),
        decl("isLessThan", ("k8s_q_lt", T.BOOL, [opaque, opaque], True, lambda a, b: _q(a) < _q(b))),
        decl("compareTo", ("k8s_q_cmp", T.INT, [opaque, opaque], True, lambda a, b: (_q(a) > _q(b)) - (_q(a) < _q(b)))),
        # cel-go ext.Sets()
        decl("sets.contains", ("sets_contains", T.BOOL, [dyn_list, dyn_list], False,
                               lambda a, b: all(_contains(a, x) for x in b))),
        decl("sets.equivalent", ("sets_equivalent", T.BOOL, [dyn_list, dyn_list], False,
                                 lambda a, b: all(_contains(a, x) for x in b) and all(_contains(b, x) for x in a))),
        decl("sets.intersects", ("sets_intersects", T.BOOL, [dyn_list, dyn_list], False,
                                 lambda a, b: any(_contains(a, x) for x in b))),
        # cel-go ext.Lists(ext.ListsVersion(3)), the plain functions
        decl("lists.range", ("lists_range", T.List(T.INT), [T.INT], False, lambda n: list(range(n)))),
        decl("slice", ("list_slice", dyn_list, [dyn_list, T.INT, T.INT], True, _slice)),
        decl("flatten", ("list_flatten", dyn_list, [dyn_list], True, lambda v: _flatten(v, 1)),
             ("list_flatten_depth", dyn_list, [dyn_list, T.INT], True, _flatten)),
        decl("sort", ("list_sort", dyn_list, [dyn_list], True, _sort)),
        decl("distinct", ("list_distinct", dyn_list, [dyn_list], True, _distinct)),
        decl("reverse", ("list_reverse", dyn_list, [dyn_list], True, lambda v: list(reversed(v)))),
    ]


# --- URLs, as Go's net/url ParseRequestURI reads them (what isURL and url() use).

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*\Z")
_BAD_HOST = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:\[\]<>\"%]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _parse_request_uri(text: str) -> dict[str, str]:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError("net/url: invalid control character in URL")
    if not text:
        raise ValueError("empty url")
    parts = {"scheme": "", "host": "", "hostname": "", "port": "", "path": "", "query": ""}
    if text == "*":
        parts["path"] = "*"
        return parts
    rest = text
    colon = text.find(":")
    if colon == 0:
        raise ValueError("missing protocol scheme")
    if colon > 0 and _SCHEME.match(text[:colon]):
        parts["scheme"], rest = text[:colon].lower(), text[colon + 1:]
    if "?" in rest:
        rest, parts["query"] = rest.split("?", 1)
    if not rest.startswith("/"):
        if parts["scheme"]:
            parts["path"] = rest  # opaque (mailto:x)
            return parts
        raise ValueError("invalid URI for request")
    if parts["scheme"] and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        host = authority.rpartition("@")[2]
        if _BAD_HOST.search(host) or _BAD_ESCAPE.search(host):
            raise ValueError(f"invalid character in host name {host!r}")
        hostname, port = host, ""
        if host.startswith("["):
            end = host.find("]")
            if end < 0:
                raise ValueError("missing ']' in host")
            hostname, tail = host[1:end], host[end + 1:]
            if tail and (not tail.startswith(":") or not tail[1:].isdigit() and tail != ":"):
                raise ValueError(f"invalid port {tail!r} after host")
            port = tail[1:]
        elif ":" in host:
            hostname, port = host.rsplit(":", 1)
            if port and not port.isdigit():
                raise ValueError(f"invalid port {':' + port!r} after host")
        parts.update(host=host, hostname=hostname, port=port)
    if _BAD_ESCAPE.search(rest):
        raise ValueError("invalid URL escape")
    parts["path"] = rest
    return parts


def _url(text: str) -> dict[str, str]:
    try:
        _parse_request_uri(text)
    except ValueError as exc:
        raise ValueError(f"URL parse error during conversion from string: {exc}") from None
    return {"__url__": text}


def _is_url(text: str) -> bool:
    try:
        _parse_request_uri(text)
    except ValueError:
        return False
    return True


def _url_part(value: dict[str, Any], part: str) -> str:
    return _parse_request_uri(str(value.get("__url__", "")))[part]


def _url_query(value: dict[str, Any]) -> dict[str, list[str]]:
    query = _parse_request_uri(str(value.get("__url__", "")))["query"]
    return {k: list(v) for k, v in parse_qs(query, keep_blank_values=True).items()}


# --- regex (Python's re standing in for RE2; the syntax CRDs use is common to both)


def _find(text: str, pattern: str) -> str:
    match = re.search(pattern, text)
    return match.group(0) if match else ""


def _find_all(text: str, pattern: str, limit: int) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, text)]
    return found if limit < 0 else found[:limit]


# --- lists


def _is_sorted(values: list[Any]) -> bool:
    return all(a <= b for a, b in zip(values, values[1:]))


def _sum(values: list[Any]) -> Any:
    if not values:
        return 0
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def _extreme(values: list[Any], pick: Callable[..., Any], name: str) -> Any:
    if not values:
        raise ValueError(f"{name} called on an empty list")
    return pick(values)


def _same(a: Any, b: Any) -> bool:
    """CEL equality: numbers across int and double, never bool with a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _contains(values: list[Any], item: Any) -> bool:
    return any(_same(value, item) for value in values)


def _slice(values: list[Any], start: int, end: int) -> list[Any]:
    if start < 0 or end < start or end > len(values):
        raise ValueError(f"cannot slice({start}, {end}) a list of {len(values)}")
    return values[start:end]


def _flatten(values: list[Any], depth: int) -> list[Any]:
    if depth < 0:
        raise ValueError("level must be non-negative")
    out: list[Any] = []
    for value in values:
        if isinstance(value, list) and depth > 0:
            out.extend(_flatten(value, depth - 1))
        else:
            out.append(value)
    return out


def _sort(values: list[Any]) -> list[Any]:
    return sorted(values)


def _distinct(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if not _contains(out, value):
            out.append(value)
    return out


# --- quantities (k8s.io/apimachinery resource.Quantity, exactly as fractions)


def _parse_q(text: str) -> Fraction | None:
    return parse_quantity(text) if isinstance(text, str) and text == text.strip() and text else None


def _quantity(text: str) -> dict[str, str]:
    value = _parse_q(text)
    if value is None:
        raise ValueError(f"quantities must match the regular expression of Kubernetes quantities: {text!r}")
    return _mk_q(value)


def _mk_q(value: Fraction | int) -> dict[str, str]:
    return {"__quantity__": str(Fraction(value))}


def _q(value: dict[str, Any]) -> Fraction:
    return Fraction(str(value.get("__quantity__", "0")))


def _q_as_integer(value: dict[str, Any]) -> int:
    number = _q(value)
    if number.denominator != 1 or not -(2**63) <= number.numerator < 2**63:
        raise ValueError("cannot convert value to integer")
    return number.numerator


# --------------------------------------------------------------------------
# Compiling a node's rules (once: the result is kept on the node, and nodes
# are cached with their CRD's schema).


def compiled(node: Node) -> list[CompiledRule]:
    """The compiled x-kubernetes-validations of ``node``."""
    rules = node.cel
    if rules is None:
        with _LOCK:
            rules = node.cel
            if rules is None:
                rules = node.cel = [_compile(raw, node) for raw in node.rules]
    return rules


def _compile(raw: dict[str, Any], node: Node) -> CompiledRule:
    rule = raw.get("rule")
    message = raw.get("message")
    message_expression = raw.get("messageExpression")
    reason = raw.get("reason")
    out = CompiledRule(
        rule=rule.strip() if isinstance(rule, str) else "",
        message=message.strip() if isinstance(message, str) else "",
        reason=reason if isinstance(reason, str) else "FieldValueInvalid",
        field_path=_field_path(raw.get("fieldPath"), node),
        optional_old_self=raw.get("optionalOldSelf") is True,
        env_kind=_env_kind(node),
    )
    if not isinstance(rule, str):
        out.problem = "the rule is not a string"
        return out
    if not out.rule:
        return out  # an empty rule is never evaluated (compilation.go)
    try:
        env = _env(out.env_kind)
        program = env.compile(out.rule)
    except Exception as exc:  # the binding raises RuntimeError; anything else is a failure too
        out.problem = f"it does not compile in this checker's CEL environment: {_compile_error(exc)}"
        return out
    result = program.return_type().name()
    if result not in ("BOOL", "DYN"):
        out.problem = f"it evaluates to {result.lower()}, not a bool"
        return out
    try:
        _env("plain").compile(out.rule)
    except Exception as exc:
        out.uses_old_self = OLD_SELF in str(exc)
    if out.uses_old_self and out.optional_old_self:
        try:
            program = env.compile(_old_self_as_none(out.rule))
        except Exception as exc:
            out.problem = f"it does not compile with oldSelf as optional.none(): {_compile_error(exc)}"
            return out
    out.program = program
    if isinstance(message_expression, str) and message_expression.strip():
        try:
            out.message_program = _env(out.env_kind).compile(message_expression)
        except Exception:
            out.message_program = None  # the API server refuses such a CRD; the static message stands
    return out


def _env_kind(node: Node) -> str:
    if node.type == "string" and not node.int_or_string:
        if node.format in ("date", "date-time"):
            return "timestamp"
        if node.format == "duration":
            return "duration"
    return "dyn"


def _compile_error(exc: Exception) -> str:
    text = str(exc)
    found = re.search(r"ERROR: <input>:\d+:\d+: ([^\n]*)", text)
    return found.group(1) if found else text.splitlines()[0][:200] if text else type(exc).__name__


def _old_self_as_none(source: str) -> str:
    """``source`` with every ``oldSelf`` identifier (not a field selection,
    not inside a string literal) replaced by ``optional.none()``: what
    ``oldSelf`` is on create for a rule with optionalOldSelf."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c in "'\"":
            start = i
            raw = i > 0 and source[i - 1] in "rR"
            quote = source[i:i + 3] if source[i:i + 3] in ("'''", '"""') else c
            i += len(quote)
            while i < n and not source.startswith(quote, i):
                i += 2 if source[i] == "\\" and not raw else 1
            i += len(quote)
            out.append(source[start:i])
            continue
        if c.isalpha() or c == "_":
            start = i
            while i < n and (source[i].isalnum() or source[i] == "_"):
                i += 1
            word = source[start:i]
            before = source[:start].rstrip()
            selected = before.endswith(".") or before.endswith(".?")
            out.append("optional.none()" if word == OLD_SELF and not selected else word)
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _field_path(value: Any, node: Node) -> JsonPath | None:
    """cel/validation.go ValidFieldPath: ``.a.b``, ``['a.b']`` or ``.a['b']``,
    each step a declared property (or a key of a map); None when invalid."""
    if not isinstance(value, str) or not value:
        return None
    tokens = re.findall(r"\.([^.\[\]']+)|\['((?:[^'\\]|\\.)*)'\]|(.)", value)
    path: list[str | int] = []
    current: Node | None = node
    for plain, quoted, other in tokens:
        if other or current is None:
            return None
        name = plain or re.sub(r"\\(.)", r"\1", quoted)
        if current.properties:
            current = current.properties.get(name)
            if current is None:
                return None
        elif current.additional is not None:
            current = current.additional
        else:
            return None
        path.append(name)
    return tuple(path)


# --------------------------------------------------------------------------
# Values, typed as Kubernetes types them.

_RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
    "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
})
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPABLE = re.compile(r"(?![0-9])[A-Za-z0-9_./-]+\Z")


def escape(name: str) -> str | None:
    """apiserver/pkg/cel/escaping.go Escape: how a property is named in CEL
    (None: it cannot be, and is left out)."""
    if name in _RESERVED:
        return f"__{name}__"
    if _PLAIN_NAME.match(name) and "__" not in name:
        return name
    if not _ESCAPABLE.match(name):
        return None
    return re.sub(r"__|[./-]", lambda m: {"__": "__underscores__", ".": "__dot__", "-": "__dash__",
                                           "/": "__slash__"}[m.group(0)], name)


_META = Node()
_META.type = "object"
_STRING = Node()
_STRING.type = "string"
_META.properties = {"name": _STRING, "generateName": _STRING}


def to_cel(value: Any, node: Node, *, resource_root: bool = False) -> Any:
    """``value`` as CEL sees it at ``node`` (valuesunstructured.go
    UnstructuredToVal), as plain Python values for the binding."""
    if value is None or node.int_or_string:
        return value
    kind = node.type
    cls = value.__class__
    if kind == "object":
        if cls is not dict:
            return value
        if node.embedded or resource_root or node.properties:
            out: dict[str, Any] = {}
            properties = node.properties
            for key, child in value.items():
                prop = properties.get(key)
                if prop is None:
                    if not (node.embedded or resource_root) or key not in ("apiVersion", "kind", "metadata"):
                        continue
                    prop = _META if key == "metadata" else _STRING
                elif (node.embedded or resource_root) and key == "metadata":
                    prop = _META
                if child is None:
                    continue  # a null field of an object is an absent one
                name = escape(key)
                if name is not None:
                    out[name] = to_cel(child, prop)
            return out
        if node.additional is not None:
            additional = node.additional
            return {key: to_cel(child, additional) for key, child in value.items()}
        return {}
    if kind == "array":
        if cls is not list or node.items is None:
            return value
        items = node.items
        return [to_cel(item, items, resource_root=items.embedded) for item in value]
    if kind == "string":
        if node.format == "byte" and cls is str:
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return value
        return value
    if kind == "number" and cls is int:
        return float(value)
    return value


_DURATION = re.compile(r"([+-]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)\Z")
_UNIT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _typed_self(value: Any, kind: str) -> Any:
    """A date / date-time / duration string as the timestamp or duration
    the API server makes of it (ValueError when it is not one)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    if kind == "duration":
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"Invalid duration {value}")
        seconds = sum(float(n) * _SECONDS[u] for n, u in _UNIT.findall(match.group(2)))
        return datetime.timedelta(seconds=-seconds if match.group(1) == "-" else seconds)
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"Invalid date-time formatted string {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


# --------------------------------------------------------------------------
# Evaluating.


def evaluate(body: Any, root: Node) -> list[Outcome]:
    """Every rule of ``root``'s schema that refuses ``body`` or that cannot
    be judged, on create. ``body`` is the prepared body
    (nulls pruned, defaults applied: structural.prepare)."""
    walk: list[Outcome] = []
    if root.has_rules:
        _visit(body, root, root, (), True, walk)
    return walk


def _visit(value: Any, rules: Node, schema: Node, path: JsonPath, resource_root: bool, walk: list[Outcome]) -> None:
    if value is None:
        return
    if rules.rules:
        _evaluate_node(value, rules, schema, path, resource_root, walk)
    for branch in rules.all_of:
        if branch.has_rules:
            _visit(value, branch, schema, path, resource_root, walk)
    cls = value.__class__
    if cls is list:
        if rules.items is not None and rules.items.has_rules and schema.items is not None:
            items = schema.items
            for index, item in enumerate(value):
                _visit(item, rules.items, items, (*path, index), items.embedded, walk)
    elif cls is dict:
        additional = rules.additional
        if additional is not None and additional.has_rules and schema.additional is not None:
            for key, child in value.items():
                _visit(child, additional, schema.additional, (*path, key), schema.additional.embedded, walk)
        if rules.properties:
            for key, child in value.items():
                prop = rules.properties.get(key)
                target = schema.properties.get(key)
                if prop is not None and prop.has_rules and target is not None:
                    _visit(child, prop, target, (*path, key), target.embedded, walk)


def _evaluate_node(value: Any, rules: Node, schema: Node, path: JsonPath, resource_root: bool, walk: list[Outcome]) -> None:
    activations: dict[str, Any] = {}
    for rule in compiled(rules):
        if rule.problem:
            walk.append(Outcome("not evaluated", path, f"rule not evaluated: {rule.problem}", rule.rule, rules.source))
            continue
        if rule.program is None or (rule.uses_old_self and not rule.optional_old_self):
            continue  # empty, or a transition rule: there is no old object on create
        try:
            activation = activations.get(rule.env_kind)
            if activation is None:
                converted = to_cel(value, schema, resource_root=resource_root)
                if rule.env_kind != "dyn":
                    converted = _typed_self(converted, rule.env_kind)
                activation = activations[rule.env_kind] = _env(rule.env_kind).Activation({SELF: converted})
            result = rule.program.eval(activation)
            kind = result.type().name()
            outcome = result.value() if kind == "BOOL" else None
        except ValueError as exc:  # a date-time or duration that is not one
            walk.append(Outcome("refused", path, f"{exc} evaluating rule: {_rule_text(rule)}", rule.rule, rules.source))
            continue
        except Exception as exc:  # the binding could not take the value: not judged
            walk.append(Outcome("not evaluated", path, f"rule not evaluated: {_first_line(exc)}", rule.rule, rules.source))
            continue
        if kind == "ERROR":
            error = str(result.value())
            if schema.has_time and "No matching overload" in error:
                walk.append(Outcome(
                    "not evaluated", path, "rule not evaluated: it reads a date, date-time or duration field, which this"
                    f" checker passes to CEL as a string ({error})", rule.rule, rules.source))
            else:
                walk.append(Outcome("refused", path, f"{_short_error(error)} evaluating rule: {_rule_text(rule)}",
                                        rule.rule, rules.source))
            continue
        if kind != "BOOL":
            walk.append(Outcome("not evaluated", path, f"rule not evaluated: it gave {kind.lower()}, not a bool",
                                    rule.rule, rules.source))
            continue
        if outcome is True:
            continue
        target = path if rule.field_path is None else (*path, *rule.field_path)
        walk.append(Outcome("refused", target, _failure_message(rule, activations[rule.env_kind]),
                                rule.rule, rules.source))


_REASONS = {"FieldValueForbidden": "Forbidden: ", "FieldValueRequired": "Required value: ",
            "FieldValueDuplicate": "Duplicate value: "}


def _failure_message(rule: CompiledRule, activation: Any) -> str:
    """validation.go: the messageExpression's string when it gives a usable
    one, else the message, else "failed rule: <rule>"; the reason's words
    in front, as the API server's field error prints them."""
    message = rule.message or f"failed rule: {rule.rule}"
    if rule.message_program is not None:
        try:
            result = rule.message_program.eval(activation)
            if result.type().name() == "STRING":
                text = str(result.value()).strip()
                if text and "\n" not in text and len(text.encode()) <= MAX_MESSAGE_BYTES:
                    message = text
        except Exception:
            pass  # the API server falls back to the message too
    return _REASONS.get(rule.reason, "") + message


def _rule_text(rule: CompiledRule) -> str:
    return rule.message or rule.rule


def _short_error(text: str) -> str:
    """cel-cpp's ``NOT_FOUND: Key not found in map : "sts"`` as cel-go
    words it (``no such key: sts``), which is what the API server prints."""
    found = re.match(r'NOT_FOUND: Key not found in map : "?([^"]*)"?', text)
    if found:
        return f"no such key: {found.group(1)}"
    return re.sub(r"^[A-Z_]+: ", "", text)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
