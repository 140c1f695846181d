"""Canary analysis: what a canary is measured on, and the decision.

A canary runs beside the stable version with part of the traffic
(`shipyard promote --canary`). Whether it may take more is a comparison of
the two on what users see, errors and latency, over a recent window. This
module is that comparison as pure functions, so every branch is tested on
numbers directly; shipyard.lifecycle.rollout asks Prometheus for the
numbers and turns the decision into a pull request.

The default figures are the seldon-core 1.17.1 executor's request metrics
(shipyard.monitoring.seldon_metrics), selected as models/<m>/monitoring's
alerts select them: ``deployment_name`` is the model, ``predictor_version``
the predictor's ``version`` annotation (each version's component sets it),
and an error is any response that is not a success of its transport (REST
writes the HTTP status, "200"; gRPC the status name, "OK"). A model may
declare its own queries (spec.analysis.requests, metrics.<name>.query):
``$model``, ``$version`` and ``$window`` are substituted before they are
sent, once for the canary and once for the stable version.

Decision, in this order:

- wait: the canary served fewer than ``minRequests`` requests in the
  window, or a figure has no data yet; nothing is written;
- abort: a figure breaks its bound or is worse than stable beyond its
  tolerance;
- finish: healthy, and the next step of the schedule is 100;
- step: healthy; the canary moves to the next step of the schedule.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Final, Literal

from shipyard.models.problem import Problem
from shipyard.models.spec import AnalysisMetric, CanaryAnalysis, Model
from shipyard.monitoring import seldon_metrics as sm
from shipyard.monitoring.promql import PromQLError, parse

Action = Literal["step", "finish", "abort", "wait"]
Verdict = Literal["pass", "fail", "no data"]
CHECK: Final = "SY517"
WORSE: Final = "SY518"  # the canary breaks its analysis: the abort's reason

PLACEHOLDERS = ("$model", "$version", "$window")
_PLACEHOLDER = re.compile(r"\$[A-Za-z_]+")

_SERVICES = "|".join(["predictions", *(m.replace(".", "\\\\.") for m in sm.GRPC_PREDICT_METHODS)])
_SELECTOR = (f'{sm.DEPLOYMENT_NAME}="$model", {sm.PREDICTOR_VERSION}="$version", {sm.SERVICE}=~"{_SERVICES}"')
_COUNT = "seldon_api_executor_server_requests_seconds_count"
_BUCKET = "seldon_api_executor_server_requests_seconds_bucket"
_ERROR_CODES = f"{sm.REST_SUCCESS[0]}..|{sm.GRPC_SUCCESS}"  # not a success of either transport

# The default queries: the executor's prediction requests of one predictor version (docs/canary.md).
DEFAULT_REQUESTS = f"sum(increase({_COUNT}{{{_SELECTOR}}}[$window]))"
DEFAULT_QUERIES = {
    "errorRate": (f'(sum(increase({_COUNT}{{{_SELECTOR}, {sm.CODE}!~"{_ERROR_CODES}"}}[$window])) or vector(0))'
                  f" / sum(increase({_COUNT}{{{_SELECTOR}}}[$window]))"),
    "latencyP95": f"histogram_quantile(0.95, sum by (le) (rate({_BUCKET}{{{_SELECTOR}}}[$window])))",
}


def query_of(metric: AnalysisMetric) -> str:
    """The PromQL template of one figure: its own, or the default of its name."""
    if metric.query is not None:
        return metric.query
    return DEFAULT_QUERIES[metric.name]


def requests_query(analysis: CanaryAnalysis) -> str:
    return analysis.requests if analysis.requests is not None else DEFAULT_REQUESTS


def render(template: str, model: str, version: str, window: str) -> str:
    """A query template with its placeholders filled for one predictor.
    Values are written inside PromQL double-quoted strings, so quotes and
    backslashes are escaped (a version is a free-form string in model.yaml)."""
    quoted = {"$model": _escape(model), "$version": _escape(version), "$window": window}
    return _PLACEHOLDER.sub(lambda m: quoted.get(m.group(0), m.group(0)), template)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def problems(model: Model) -> list[Problem]:
    """What is wrong with spec.analysis that the schema cannot say (SY517):
    a schedule that does not climb to 100, a figure with no query and no
    default, an unknown placeholder, PromQL that does not parse, a figure
    with nothing to judge it by."""
    analysis = model.analysis
    at = analysis.line or 1
    found: list[Problem] = []
    steps = list(analysis.steps)
    if any(b <= a for a, b in zip(steps, steps[1:])) or steps[-1] != 100:
        found.append(Problem(CHECK, model.rel, at, f"analysis.steps {steps} must rise strictly and end at 100",
                             "write the schedule like [10, 25, 50, 100]"))
    templates = [("requests", requests_query(analysis), at)]
    for metric in analysis.metrics:
        line = metric.line or at
        if metric.query is None and metric.name not in DEFAULT_QUERIES:
            found.append(Problem(CHECK, model.rel, line, f"analysis.metrics.{metric.name} has no query",
                                 f"give it a query, or use a metric with a default query: {', '.join(DEFAULT_QUERIES)}"))
            continue
        if metric.max is None and metric.min is None and metric.tolerance is None:
            found.append(Problem(CHECK, model.rel, line, f"analysis.metrics.{metric.name} has no max, min or tolerance",
                                 "say what a healthy canary is, e.g. {max: 0.05} or {tolerance: \"20%\"}"))
        templates.append((f"metrics.{metric.name}.query", query_of(metric), line))
    for where, template, line in templates:
        unknown = sorted(set(_PLACEHOLDER.findall(template)) - set(PLACEHOLDERS))
        if unknown:
            found.append(Problem(CHECK, model.rel, line, f"analysis.{where}: unknown placeholder {unknown[0]}",
                                 f"placeholders are: {', '.join(PLACEHOLDERS)}"))
            continue
        try:
            parse(render(template, model.name, "0.0.0", analysis.window))
        except PromQLError as exc:
            found.append(Problem(CHECK, model.rel, line, f"analysis.{where} is not PromQL: {exc}",
                                 "check it with promtool or in Prometheus' expression browser"))
    return found


def next_step(steps: tuple[int, ...], traffic: int) -> int:
    """The schedule's first step above the canary's traffic now (100 when
    it is at or above the last step below 100)."""
    return next((s for s in steps if s > traffic), 100)


@dataclass(frozen=True)
class Figures:
    """What Prometheus said about one predictor version in the window."""

    version: str
    requests: float | None
    values: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    metric: str
    canary: float | None
    stable: float | None
    threshold: str
    verdict: Verdict
    why: str = ""


@dataclass(frozen=True)
class Decision:
    action: Action
    traffic: int  # the canary's traffic now
    target: int | None  # its traffic after a step (100 for finish; None for abort and wait)
    reason: str
    rows: tuple[Row, ...]
    canary: Figures
    stable: Figures
    window: str
    min_requests: int


def threshold_text(metric: AnalysisMetric) -> str:
    parts = []
    if metric.max is not None:
        parts.append(f"≤ {metric.max:g}")
    if metric.min is not None:
        parts.append(f"≥ {metric.min:g}")
    if metric.tolerance is not None:
        sign = "+" if metric.better == "lower" else "−"
        amount = f"{metric.tolerance:g}%" if metric.relative else f"{metric.tolerance:g}"
        parts.append(f"{'≤' if metric.better == 'lower' else '≥'} stable {sign} {amount}")
    return "; ".join(parts)


def judge(metric: AnalysisMetric, canary: float | None, stable: float | None) -> Row:
    """One figure of the canary against its bounds and the stable version."""
    text = threshold_text(metric)
    if canary is None or math.isnan(canary):
        return Row(metric.name, None, stable, text, "no data", "the canary's query gives no number")
    if metric.max is not None and canary > metric.max:
        return Row(metric.name, canary, stable, text, "fail", f"{canary:g} is above {metric.max:g}")
    if metric.min is not None and canary < metric.min:
        return Row(metric.name, canary, stable, text, "fail", f"{canary:g} is below {metric.min:g}")
    if metric.tolerance is not None and stable is not None and not math.isnan(stable):
        allowed = abs(stable) * metric.tolerance / 100 if metric.relative else metric.tolerance
        worse = canary - stable if metric.better == "lower" else stable - canary
        if worse > allowed:
            return Row(metric.name, canary, stable, text, "fail",
                       f"{canary:g} is worse than stable's {stable:g} by {worse:g}, more than {allowed:g}")
    return Row(metric.name, canary, stable, text, "pass")


def decide(analysis: CanaryAnalysis, traffic: int, canary: Figures, stable: Figures) -> Decision:
    """The decision for a canary at ``traffic`` percent, from its figures
    and the stable version's (see the module docstring for the order)."""

    def made(action: Action, reason: str, rows: tuple[Row, ...] = (), target: int | None = None) -> Decision:
        return Decision(action, traffic, target, reason, rows, canary, stable, analysis.window, analysis.min_requests)

    served = canary.requests or 0.0
    if served < analysis.min_requests:
        return made("wait", f"the canary served {served:g} requests in the last {analysis.window}, fewer than the "
                            f"{analysis.min_requests} needed to judge it")
    rows = tuple(judge(m, canary.values.get(m.name), stable.values.get(m.name)) for m in analysis.metrics)
    failed = [r for r in rows if r.verdict == "fail"]
    if failed:
        return made("abort", "; ".join(f"{r.metric}: {r.why}" for r in failed), rows)
    missing = [r for r in rows if r.verdict == "no data"]
    if missing:
        return made("wait", "no data yet for " + ", ".join(r.metric for r in missing), rows)
    target = next_step(analysis.steps, traffic)
    if target >= 100:
        return made("finish", f"every figure passes at {traffic}%, the last step of {list(analysis.steps)}", rows, 100)
    return made("step", f"every figure passes at {traffic}%; next step of {list(analysis.steps)}: {target}%", rows, target)


def _fmt(value: float | None) -> str:
    """Four significant digits, without exponents for request counts."""
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def table(decision: Decision) -> str:
    """The figures as a markdown table: metric, canary, stable, threshold, verdict."""
    lines = [f"| metric | canary `{decision.canary.version}` | stable `{decision.stable.version}` | threshold | verdict |",
             "|---|---|---|---|---|",
             f"| requests ({decision.window}) | {_fmt(decision.canary.requests)} | {_fmt(decision.stable.requests)} | "
             f"≥ {decision.min_requests} | {'pass' if (decision.canary.requests or 0) >= decision.min_requests else 'wait'} |"]
    for row in decision.rows:
        lines.append(f"| {row.metric} | {_fmt(row.canary)} | {_fmt(row.stable)} | {row.threshold or '—'} | {row.verdict} |")
    return "\n".join(lines) + "\n"


def section(decision: Decision, source: str) -> str:
    """The pull request's analysis section."""
    title = {"step": f"step to {decision.target}%", "finish": "finish", "abort": f"abort ({WORSE})",
             "wait": "wait"}[decision.action]
    return "\n".join([f"## Canary analysis: {title}", "",
                      f"{decision.reason}. Figures over the last {decision.window} from {source}:", "",
                      table(decision)])
