"""SY317-SY319: monitoring that is true.

An alert is only worth its YAML when three things hold, and each can fail
without any error at deploy time:

- Prometheus loads it (SY317). The Prometheus Operator refuses a whole
  PrometheusRule when one of its rules does not parse; the sync succeeds,
  and the model is watched by nothing. The real promtool judges this, once
  per validate over every PrometheusRule (shipyard.monitoring.promtool).
- It selects what is emitted (SY318). A metric nobody exports, a label the
  exporter does not set, a ``code`` value the executor never writes: the
  expression is valid, evaluates to nothing, and never fires. Rules on the
  seldon-core executor's metrics (``seldon_api_executor_*``) and on the
  seldon operator's controller-runtime metrics are compared with what
  seldon-core 1.17.1 emits (shipyard.monitoring.seldon_metrics); rules on
  other metrics (kube-state-metrics, cAdvisor, ``up``, a model's own
  metrics) are not judged.
- Its labels say which version misbehaves (SY319). The executor writes the
  predictor's ``version`` annotation into ``predictor_version``; a version
  set only as a label leaves it empty, and every summary reads "()".

Every PrometheusRule is judged once, however many targets render it: the
same base in three clusters is one rule file, one promtool input, one
finding.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.checks.policies import as_dict, as_list, is_seldon_deployment
from shipyard.findings import Finding
from shipyard.monitoring import seldon_metrics as sm
from shipyard.monitoring.promql import (
    Expression,
    LabelsOf,
    Matcher,
    PromQLError,
    Selector,
    grouping_problems,
    parse,
    result_labels,
)
from shipyard.monitoring.promtool import RuleFile, check_rules, rule_groups, spec_path
from shipyard.objects import JsonPath, K8sObject
from shipyard.render.target import RenderedTarget

MONITORING_GROUP = "monitoring.coreos.com"
DOC = "docs/monitoring.md"


def is_prometheus_rule(obj: K8sObject) -> bool:
    return obj.kind == "PrometheusRule" and obj.group == MONITORING_GROUP


def _groups(obj: K8sObject) -> Any:
    return as_dict(obj.body.get("spec")).get("groups")


def unique_rules(objects: Iterable[K8sObject]) -> list[K8sObject]:
    """PrometheusRules, one per distinct file, line and content: a base
    rendered into several targets is judged once."""
    seen: dict[tuple[str, int, str], K8sObject] = {}
    for obj in objects:
        if not is_prometheus_rule(obj):
            continue
        key = (obj.source.path, obj.source.line, json.dumps(_groups(obj), sort_keys=True, default=str))
        seen.setdefault(key, obj)
    return list(seen.values())


@dataclass(frozen=True)
class Rule:
    """One rule of a PrometheusRule, with where it is."""

    obj: K8sObject
    path: JsonPath  # spec.groups[g].rules[r]
    body: dict[str, Any]

    @property
    def name(self) -> str:
        for key in ("alert", "record"):
            if isinstance(self.body.get(key), str):
                return str(self.body[key])
        return f"rule {self.path[-1]}"

    @property
    def expr(self) -> str | None:
        value = self.body.get("expr")
        return value if isinstance(value, str) else None

    def templates(self) -> Iterator[tuple[str, str, str]]:
        """(section, key, text) of the rule's annotations and labels."""
        for section in ("annotations", "labels"):
            for key, value in as_dict(self.body.get(section)).items():
                if isinstance(value, str):
                    yield section, str(key), value


def rules_of(obj: K8sObject) -> Iterator[Rule]:
    for g_index, group in enumerate(as_list(_groups(obj))):
        for r_index, rule in enumerate(as_list(as_dict(group).get("rules"))):
            if isinstance(rule, dict):
                yield Rule(obj, ("spec", "groups", g_index, "rules", r_index), rule)


def _parsed(rule: Rule) -> Expression | None:
    """The rule's expression, or None when there is none or it does not
    parse (SY317 reports that, from promtool)."""
    if rule.expr is None:
        return None
    try:
        return parse(rule.expr)
    except PromQLError:
        return None


# --- SY317 -----------------------------------------------------------------

@check("SY317")
def promtool_check_rules(ctx: CheckContext) -> Iterable[Finding]:
    rules = unique_rules(obj for _, obj in ctx.objects())
    if not rules:
        return
    results = check_rules([RuleFile(rule_groups(_groups(obj))) for obj in rules])
    for obj, errors in zip(rules, results):
        for error in errors:
            yield Finding.on(
                obj, "SY317", f"promtool check rules: {error.message}", path=spec_path(error.path),
                hint="fix the rule here: the Prometheus Operator drops the whole PrometheusRule while one rule "
                     f"fails ({DOC} shows how to run promtool by hand)",
            )


# --- SY318 -----------------------------------------------------------------

@dataclass(frozen=True)
class Scrape:
    """What the rendered monitors tell about the series Prometheus stores:
    the jobs that scrape the seldon operator, and labels added on top of
    the target labels every PodMonitor gets."""

    operator_jobs: frozenset[str]
    extra_labels: frozenset[str]


def _sanitized(label: str) -> str:
    """A Kubernetes label key as the Prometheus Operator turns it into a
    Prometheus label (promcfg.go sanitizeLabelName): app.kubernetes.io/name
    becomes app_kubernetes_io_name."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", label)


def scrape_facts(objects: Iterable[K8sObject]) -> Scrape:
    """Read the rendered PodMonitors and ServiceMonitors: the operator's
    metrics are judged only behind a job that scrapes the operator, and a
    label a monitor adds is a label the series have."""
    jobs: set[str] = set()
    extra: set[str] = set()
    key, value = sm.OPERATOR_POD_LABEL
    for obj in objects:
        if obj.group != MONITORING_GROUP or obj.kind not in ("PodMonitor", "ServiceMonitor"):
            continue
        spec = as_dict(obj.body.get("spec"))
        extra.update(_sanitized(str(label)) for label in
                     as_list(spec.get("podTargetLabels")) + as_list(spec.get("targetLabels")))
        endpoints = as_list(spec.get("podMetricsEndpoints")) + as_list(spec.get("endpoints"))
        for endpoint in endpoints:
            for relabel in as_list(as_dict(endpoint).get("relabelings")) + as_list(as_dict(endpoint).get("metricRelabelings")):
                target = as_dict(relabel).get("targetLabel")
                if isinstance(target, str):
                    extra.add(target)
        if obj.kind == "PodMonitor" and not spec.get("jobLabel"):
            labels = as_dict(as_dict(spec.get("selector")).get("matchLabels"))
            if labels.get(key) == value:
                jobs.add(f"{obj.namespace}/{obj.name}")
    return Scrape(frozenset(jobs), frozenset(extra))


def emitter_of(selector: Selector, scrape: Scrape) -> sm.Emitter | None:
    """Whose metric the selector reads, when it is one judged here."""
    metric = selector.metric
    if metric is None:
        return None
    if sm.EXECUTOR.owns(metric):
        return sm.EXECUTOR
    if sm.OPERATOR.owns(metric):
        jobs = selector.on("job")
        if jobs and any(all(m.matches(job) for m in jobs) for job in scrape.operator_jobs):
            return sm.OPERATOR
    return None


def labels_of(scrape: Scrape) -> LabelsOf:
    """The labels of a judged selector's series; None for anything else (or
    a metric that does not exist: that is reported once, at its selector)."""

    def find(selector: Selector) -> frozenset[str] | None:
        emitter = emitter_of(selector, scrape)
        if emitter is None or selector.metric is None:
            return None
        labels = emitter.series().get(selector.metric)
        if labels is None:
            return None
        return frozenset(labels) | frozenset(sm.TARGET_LABELS) | scrape.extra_labels

    return find


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


def _selector_problems(selector: Selector, scrape: Scrape) -> Iterator[str]:
    """What is wrong with one judged selector: its series, its label
    matchers, the values it compares with (see the module doc)."""
    emitter = emitter_of(selector, scrape)
    if emitter is None or selector.metric is None:
        return
    series = emitter.series()
    metric = selector.metric
    family = next((m for m in emitter.metrics if m.name == metric and m.kind == "histogram"), None)
    if family is not None:
        yield (f"{metric} is a histogram: Prometheus stores {metric}_bucket, {metric}_count and {metric}_sum, "
               "never the name itself")
        return
    if metric not in series:
        close = difflib.get_close_matches(metric, list(series), n=1, cutoff=0.8)
        yield (f"{metric} is not a series the {emitter.name} emits"
               + (f": did you mean {close[0]}?" if close else f" (it emits {_quoted(series)})"))
        return
    allowed = set(series[metric]) | set(sm.TARGET_LABELS) | scrape.extra_labels
    for matcher in selector.matchers:
        if matcher.name not in allowed:
            yield (f"{metric} has no label {matcher.name!r} (the {emitter.name} labels it with "
                   f"{_quoted(series[metric])}; Prometheus adds {_quoted(sm.TARGET_LABELS)})")
    if emitter is not sm.EXECUTOR:
        return
    for matcher in selector.matchers:
        if matcher.op == "=":
            emitted = sm.value_emitted(matcher.name, matcher.value)
            if emitted is False:
                yield f"{matcher.name}={matcher.value!r} matches nothing: {_values_said(matcher.name)}"
        elif matcher.op == "=~" and matcher.name == sm.METHOD:
            # method is a closed set; service is not (gRPC writes any full method the client calls)
            hits = [matcher.matches(v) for v in sm.METHOD_VALUES]
            if None not in hits and not any(hits):
                yield f"{matcher.name}=~{matcher.value!r} matches nothing: {_values_said(matcher.name)}"
    codes = selector.on(sm.CODE)
    if codes and _admits(selector, sm.REST_SERVICES, sm.REST_METHODS) and \
            _admits(selector, sm.GRPC_PREDICT_METHODS, sm.GRPC_METHODS):
        yield from _code_consistency(metric, codes)


def _admits(selector: Selector, services: tuple[str, ...], methods: tuple[str, ...]) -> bool:
    """Whether the selector's service and method matchers let one
    transport's requests through (a rule may watch gRPC alone, and then
    only gRPC's codes matter)."""
    for label, values in ((sm.SERVICE, services), (sm.METHOD, methods)):
        matchers = selector.on(label)
        if matchers and not any(all(m.matches(v) is not False for m in matchers) for v in values):
            return False
    return True


def _values_said(label: str) -> str:
    if label == sm.CODE:
        return ("the executor writes code as the HTTP status for REST (\"200\", \"503\") and as the gRPC status "
                "name for gRPC (\"OK\", \"Unavailable\")")
    if label == sm.METHOD:
        return f"the executor writes method as {_quoted(sm.REST_METHODS)} (REST) or unary (gRPC)"
    return (f"the executor writes service as {_quoted(sm.REST_SERVICES)} (REST) or the gRPC full method, "
            "such as /seldon.protos.Seldon/Predict")


def _code_consistency(metric: str, codes: list[Matcher]) -> Iterator[str]:
    """A selector on `code` must treat REST and gRPC alike: the executor
    writes "200" for a REST success and "OK" for a gRPC one."""

    def selects(value: str) -> bool | None:
        results = [m.matches(value) for m in codes]
        return None if None in results else all(results)

    matchers = ", ".join(f"code{m.op}{json.dumps(m.value)}" for m in codes)
    for rest, grpc, what in ((sm.REST_SUCCESS, sm.GRPC_SUCCESS, "successes"),
                             (sm.REST_FAILURE, sm.GRPC_FAILURE, "failures")):
        a, b = selects(rest), selects(grpc)
        if a is None or b is None or a == b:
            continue
        picked, missed = (rest, grpc) if a else (grpc, rest)
        yield (f"{metric}{{{matchers}}} treats REST and gRPC {what} differently: it selects code=\"{picked}\" but "
               f"not code=\"{missed}\" (REST writes \"{rest}\", gRPC \"{grpc}\")"
               + ("; healthy gRPC traffic counts as errors" if what == "successes" and b else ""))


_TEMPLATE_LABEL = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)|index\s+\$labels\s+\"([^\"]+)\"")


@check("SY318")
def metrics_that_exist(ctx: CheckContext) -> Iterable[Finding]:
    objects = [obj for _, obj in ctx.objects()]
    scrape = scrape_facts(objects)
    find = labels_of(scrape)
    for obj in unique_rules(objects):
        for rule in rules_of(obj):
            expr = _parsed(rule)
            if expr is None:
                continue
            where = (*rule.path, "expr")
            said: set[str] = set()
            for selector in expr.selectors:
                for message in _selector_problems(selector, scrape):
                    if message not in said:
                        said.add(message)
                        yield Finding.on(obj, "SY318", f"{rule.name}: {message}", path=where,
                                         hint=f"use the metrics and labels the executor emits ({DOC} lists them)")
            for problem in grouping_problems(expr, find):
                metrics = _quoted({s.metric for s in problem.selectors if s.metric})
                yield Finding.on(
                    obj, "SY318",
                    f"{rule.name}: {problem.clause} ({', '.join(problem.missing)}) names labels no series beneath "
                    f"it carries ({metrics}): the result has none",
                    path=where, hint=f"group by labels the metric has ({DOC} lists them)",
                )
            if "alert" not in rule.body or not any(emitter_of(s, scrape) for s in expr.selectors):
                continue  # only alerts on the metrics judged here
            have = result_labels(expr, find)
            if have is None:
                continue
            for section, key, text in rule.templates():
                for match in _TEMPLATE_LABEL.finditer(text):
                    label = match.group(1) or match.group(2)
                    if label not in have:
                        yield Finding.on(
                            obj, "SY318",
                            f"{rule.name}: {section} {key!r} uses $labels.{label}, which the alert's series do not "
                            f"carry (they have: {_quoted(have) or 'no labels'}): it renders empty",
                            path=(*rule.path, section, key),
                            hint=f"keep {label} in the expression's by (...) clause, or drop it from the text",
                        )


# --- SY319 -----------------------------------------------------------------

def _covers(rule: Rule, expr: Expression | None, deployment: str) -> bool:
    """Whether ``rule`` reads the executor's metrics of ``deployment``."""
    if expr is None:
        return False
    for selector in expr.selectors:
        if selector.metric is None or not sm.EXECUTOR.owns(selector.metric):
            continue
        names = selector.on(sm.DEPLOYMENT_NAME)
        if all(m.matches(deployment) is not False for m in names):
            return True
    return False


def _relies_on_version(rule: Rule) -> bool:
    texts = [rule.expr or ""] + [text for _, _, text in rule.templates()]
    return any(sm.PREDICTOR_VERSION in text for text in texts)


def _version_rules(target: RenderedTarget) -> list[tuple[Rule, Expression | None]]:
    found = []
    for obj in target.objects:
        if not is_prometheus_rule(obj):
            continue
        for rule in rules_of(obj):
            if _relies_on_version(rule):
                found.append((rule, _parsed(rule)))
    return found


def _by_deployment(relying: list[tuple[Rule, Expression | None]]) -> tuple[dict[str, list[int]], list[int]]:
    """The rules (by index) that may cover a deployment, found without
    trying each rule on each deployment (200 models gave 800,000 tries):
    a rule whose every executor selector names one deployment with ``=``
    is listed under those names; any other rule may cover any deployment."""
    named: dict[str, list[int]] = {}
    anyone: list[int] = []
    for index, (_rule, expr) in enumerate(relying):
        if expr is None:
            continue
        names: set[str] = set()
        general = False
        for selector in expr.selectors:
            if selector.metric is None or not sm.EXECUTOR.owns(selector.metric):
                continue
            exact = [m.value for m in selector.on(sm.DEPLOYMENT_NAME) if m.op == "="]
            if exact:
                names.add(exact[0])
            else:
                general = True
        if general:
            anyone.append(index)
        else:
            for name in names:
                named.setdefault(name, []).append(index)
    return named, anyone


@check("SY319")
def predictor_version_annotation(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        relying = _version_rules(target)
        if not relying:
            continue
        named, anyone = _by_deployment(relying)
        for obj in target.objects:
            if not is_seldon_deployment(obj):
                continue
            candidates = sorted({*named.get(obj.name, ()), *anyone})
            users = [relying[i][0] for i in candidates if _covers(relying[i][0], relying[i][1], obj.name)]
            if not users:
                continue
            names = ", ".join(sorted({rule.name for rule in users})[:3])
            for p_index, raw in enumerate(as_list(as_dict(obj.body.get("spec")).get("predictors"))):
                predictor = as_dict(raw)
                name = predictor.get("name", p_index)
                path: JsonPath = ("spec", "predictors", p_index)
                annotation = as_dict(predictor.get("annotations")).get("version")
                label = as_dict(predictor.get("labels")).get("version")
                hint = (f"set spec.predictors[{p_index}].annotations.version to the version (this repository's "
                        f"version components do; `shipyard register {obj.name} --sync` regenerates them)")
                if not (isinstance(annotation, str) and annotation):
                    if isinstance(label, str) and label:
                        message = (f"predictor {name!r} sets version {label!r} only as a label: seldon-core's executor "
                                   f"reads the predictor's annotation `version`, so predictor_version is empty in "
                                   f"{names}")
                        yield Finding.on(obj, "SY319", message, path=(*path, "labels", "version"), hint=hint)
                    else:
                        message = (f"predictor {name!r} has no annotation `version`: predictor_version is empty on its "
                                   f"metrics, which {names} relies on")
                        yield Finding.on(obj, "SY319", message, path=path, hint=hint)
                elif isinstance(label, str) and label and label != annotation:
                    message = (f"predictor {name!r}: annotation version {annotation!r} differs from label version "
                               f"{label!r}: {names} names one version while its pods and Istio subsets carry the other")
                    yield Finding.on(obj, "SY319", message, path=(*path, "annotations", "version"),
                                     hint="set both to the same version")
