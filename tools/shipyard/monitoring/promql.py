"""What a PromQL expression selects and which labels it groups by.

promtool says whether an expression parses; it cannot say whether the
metric and labels it names exist. To compare an expression with what an
exporter emits (SY318) the expression has to be read as PromQL reads it:
regular expressions are anchored, ``{__name__="x"}`` names a metric,
``sum by (a) (sum by (b) (x))`` has no label ``a`` left. A hand-written
scan of the text gets those wrong, so the expression is parsed by
promql-parser (the Python binding of GreptimeTeam's Rust parser, which
follows Prometheus 2.45's grammar) and walked here.

Labels are followed through the expression: a selector of a known metric
carries that metric's labels, functions and aggregations keep, add or drop
them as Prometheus does, and a grouping clause (``by``, ``on``,
``group_left``) naming a label that cannot be there is reported with the
clause. Where a selector's labels are unknown (a metric nobody here
describes) nothing above it is judged.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from shipyard.errors import ToolMissing
from shipyard.ids import TOOL_MISSING

MatchOp = str  # "=", "!=", "=~", "!~"


class PromQLError(ValueError):
    """The expression is not PromQL (promtool reports it too, as SY317)."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: MatchOp
    value: str

    def matches(self, value: str) -> bool | None:
        """Whether a series whose label has ``value`` passes this matcher
        (an absent label is ""); None for a regular expression Python's
        engine cannot read the way Prometheus's RE2 does."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        try:
            hit = re.fullmatch(self.value, value) is not None  # Prometheus anchors: ^(?:re)$
        except re.error:
            return None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value!r}"


@dataclass(frozen=True)
class Selector:
    """One vector selector: the metric it names (None when only matchers
    select) and its label matchers, ``__name__`` excluded."""

    metric: str | None
    matchers: tuple[Matcher, ...]
    text: str

    def on(self, label: str) -> list[Matcher]:
        return [m for m in self.matchers if m.name == label]


@dataclass(frozen=True)
class GroupingProblem:
    """A grouping clause names labels the series beneath it cannot carry."""

    clause: str  # "by", "on", "group_left", ...
    missing: tuple[str, ...]
    selectors: tuple[Selector, ...]  # the judged selectors beneath it


LabelsOf = Callable[[Selector], "frozenset[str] | None"]
"""The labels a selector's series carry, or None when they are unknown."""


@dataclass
class Expression:
    text: str
    selectors: list[Selector] = field(default_factory=list)
    root: Any = None


def _parser() -> Any:
    try:
        import promql_parser
    except ImportError:
        raise ToolMissing(
            "the PromQL parser (the promql-parser package) is not installed in this Python",
            hint="run `make setup` (or `python3 tools/install.py`): it installs the toolkit's dependencies",
            check=TOOL_MISSING,
        ) from None
    return promql_parser


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def _member(value: Any) -> str:
    """The member name of one of the binding's enums (``MatchOp.NotRe`` ->
    "NotRe"): they have no ``.name``, only their text."""
    return str(value).rsplit(".", 1)[-1]


def _matcher(raw: Any) -> Matcher:
    op = _OPS.get(_member(raw.op))
    if op is None:
        raise PromQLError(f"unknown label matcher operator {raw.op}")
    return Matcher(str(raw.name), op, str(raw.value))


def _selector(pp: Any, node: Any) -> Selector:
    name = node.name
    matchers: list[Matcher] = []
    raw = node.matchers
    for m in list(raw.matchers) + [m for group in raw.or_matchers for m in group]:
        matcher = _matcher(m)
        if matcher.name == "__name__" and matcher.op == "=" and name is None:
            name = matcher.value
            continue
        if matcher.name != "__name__":
            matchers.append(matcher)
    return Selector(str(name) if name is not None else None, tuple(matchers), str(node))


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null for the duration. The Rust
    parser panics on a few inputs Prometheus refuses anyway (a number too
    large for a duration, ``x offset 1e309``); the binding turns the panic
    into an exception, but Rust's panic hook has already printed a
    backtrace to stderr. The parse takes microseconds, in the checks'
    thread, after rendering is done."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        os.close(saved)
        yield
        return
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


MAX_PARTS = 1000
"""Brackets and operators one expression may have to be parsed here. The
Rust parser and its Python objects recurse once per level, and a chain of
a few thousand ``+`` overflows the stack (the process dies, no exception).
Rules people write have a handful; a larger one is left to promtool."""
_PARTS = re.compile(r"[([{]|[-+*/%^<>=!]|\b(?:and|or|unless|atan2)\b")


def parse(text: str) -> Expression:
    """Parse ``text``; PromQLError with the parser's message when it is not
    PromQL (or when the parser itself gives up on it, or it is too large to
    parse safely)."""
    pp = _parser()
    parts = sum(1 for _ in _PARTS.finditer(text))
    if parts > MAX_PARTS:
        raise PromQLError(f"the expression has {parts} brackets and operators, more than the {MAX_PARTS} read here")
    try:
        with _stderr_silenced():
            root = pp.parse(text)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # ValueError for bad PromQL; pyo3's PanicException (a BaseException) for a panic
        raise PromQLError(str(exc).splitlines()[0] if str(exc) else "not a PromQL expression") from None
    expr = Expression(text=text, root=root)
    for node in _nodes(pp, root):
        if isinstance(node, pp.VectorSelector):
            expr.selectors.append(_selector(pp, node))
    return expr


def _children(pp: Any, node: Any) -> list[Any]:
    if isinstance(node, pp.AggregateExpr):
        return [node.expr] + ([node.param] if node.param is not None else [])
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return [node.expr]
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, pp.Call):
        return list(node.args)
    return []


def _nodes(pp: Any, node: Any) -> Iterator[Any]:
    """Every node, depth first, by an explicit stack: a deeply nested
    expression must not exhaust Python's recursion limit."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(_children(pp, current)))


# Functions whose result keeps no label of their argument.
_NO_LABELS = {"vector", "time", "scalar", "pi", "day_of_month", "day_of_week", "day_of_year", "days_in_month",
              "hour", "minute", "month", "year"}
# Time functions that take an optional vector and keep its labels when given one.
_OPTIONAL_VECTOR = {"day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"}


def _string(pp: Any, node: Any) -> str | None:
    if isinstance(node, pp.StringLiteral):
        return str(node.val)
    return None


def _is_scalar(pp: Any, node: Any, depth: int = 0) -> bool:
    """Whether ``node`` evaluates to a scalar (its side of a binary
    operator then keeps no labels). Deep chains answer False: they are not
    judged beyond _MAX_DEPTH anyway."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, pp.NumberLiteral):
        return True
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr)):
        return _is_scalar(pp, node.expr, depth + 1)
    if isinstance(node, pp.Call):
        return str(node.func.name) in {"scalar", "time", "pi"}
    if isinstance(node, pp.BinaryExpr):
        return _is_scalar(pp, node.lhs, depth + 1) and _is_scalar(pp, node.rhs, depth + 1)
    return False


_MAX_DEPTH = 100
"""How deep labels are followed; a deeper expression is not judged (each
level costs a few Python frames, and the interpreter's limit is 1000)."""


class _Labels:
    """Follows the labels through one expression (see the module doc)."""

    def __init__(self, pp: Any, labels_of: LabelsOf) -> None:
        self.pp = pp
        self.labels_of = labels_of
        self.problems: list[GroupingProblem] = []
        self.depth = 0

    def selectors(self, node: Any) -> tuple[Selector, ...]:
        return tuple(_selector(self.pp, n) for n in _nodes(self.pp, node) if isinstance(n, self.pp.VectorSelector))

    def check(self, clause: str, wanted: list[str], have: frozenset[str] | None, node: Any) -> None:
        if have is None:
            return
        missing = tuple(label for label in wanted if label not in have)
        if missing:
            judged = tuple(s for s in self.selectors(node) if self.labels_of(s) is not None)
            self.problems.append(GroupingProblem(clause, missing, judged))

    def of(self, node: Any) -> frozenset[str] | None:
        """The labels ``node``'s result may carry; None when unknown."""
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:  # far beyond any rule a person writes: stop judging, not recursing
                return None
            return self._of(node)
        finally:
            self.depth -= 1

    def _of(self, node: Any) -> frozenset[str] | None:
        pp = self.pp
        if isinstance(node, pp.VectorSelector):
            return self.labels_of(_selector(pp, node))
        if isinstance(node, pp.MatrixSelector):
            return self.of(node.vector_selector)
        if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
            return self.of(node.expr)
        if isinstance(node, (pp.NumberLiteral, pp.StringLiteral)):
            return frozenset()
        if isinstance(node, pp.Call):
            return self._call(node)
        if isinstance(node, pp.AggregateExpr):
            return self._aggregate(node)
        if isinstance(node, pp.BinaryExpr):
            return self._binary(node)
        return None

    def _call(self, node: Any) -> frozenset[str] | None:
        pp = self.pp
        name = str(node.func.name)
        args = list(node.args)
        results = [self.of(a) for a in args]
        if name in _NO_LABELS and not (name in _OPTIONAL_VECTOR and args):
            return frozenset()
        if name in {"absent", "absent_over_time"}:
            inner = args[0] if args else None
            if isinstance(inner, pp.MatrixSelector):
                inner = inner.vector_selector
            if isinstance(inner, pp.VectorSelector):
                return frozenset(m.name for m in _selector(pp, inner).matchers if m.op == "=")
            return frozenset()
        if any(r is None for r in results):
            return None
        have = frozenset().union(*[r for r in results if r is not None])
        if name == "histogram_quantile":
            return have - {"le"}
        if name in {"label_replace", "label_join"} and len(args) > 1:
            dst = _string(pp, args[1])
            return have | {dst} if dst else None
        return have

    def _aggregate(self, node: Any) -> frozenset[str] | None:
        pp = self.pp
        have = self.of(node.expr)
        if node.param is not None:
            self.of(node.param)
        op = str(node.op)
        modifier = node.modifier
        labels = [str(label) for label in modifier.labels] if modifier is not None else []
        by = modifier is not None and _member(modifier.type) == "By"
        if by:
            self.check("by", labels, have, node.expr)
        if op in {"topk", "bottomk", "limitk", "limit_ratio"}:
            return have  # these pick whole series, labels and all
        kept: frozenset[str] | None
        if modifier is None:
            kept = frozenset()
        elif by:
            kept = frozenset(labels)
        else:
            kept = have - set(labels) if have is not None else None
        if op == "count_values":
            extra = _string(pp, node.param) if node.param is not None else None
            return kept | {extra} if kept is not None and extra else kept
        return kept

    def _binary(self, node: Any) -> frozenset[str] | None:
        pp = self.pp
        lhs, rhs = self.of(node.lhs), self.of(node.rhs)
        op = str(node.op)
        if _is_scalar(pp, node.lhs):
            return rhs
        if _is_scalar(pp, node.rhs):
            return lhs
        modifier = node.modifier
        matching = modifier.matching if modifier is not None else None
        group = [str(label) for label in modifier.group_labels] if modifier is not None and modifier.group_labels else []
        if matching is not None and _member(matching.type) == "Include":
            on = [str(label) for label in matching.labels]
            self.check("on", on, lhs, node.lhs)
            self.check("on", on, rhs, node.rhs)
        card = _member(modifier.card) if modifier is not None and modifier.card is not None else ""
        if card == "ManyToOne" and group:
            self.check("group_left", group, rhs, node.rhs)
            return lhs | set(group) if lhs is not None else None
        if card == "OneToMany" and group:
            self.check("group_right", group, lhs, node.lhs)
            return rhs | set(group) if rhs is not None else None
        if op == "or":
            return lhs | rhs if lhs is not None and rhs is not None else None
        return rhs if card == "OneToMany" else lhs


def grouping_problems(expr: Expression, labels_of: LabelsOf) -> list[GroupingProblem]:
    """Grouping clauses of ``expr`` that name labels its judged selectors cannot carry."""
    pp = _parser()
    follower = _Labels(pp, labels_of)
    follower.of(expr.root)
    return follower.problems


def result_labels(expr: Expression, labels_of: LabelsOf) -> frozenset[str] | None:
    """The labels the series ``expr`` returns can carry (what an alert's
    ``$labels`` holds); None when a selector beneath is not judged."""
    return _Labels(_parser(), labels_of).of(expr.root)
