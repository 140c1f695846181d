"""SY317-SY319 on PrometheusRules of any shape: findings or nothing, never
a traceback (validate must report, not crash, whatever a file holds), and
nothing printed behind the report's back."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.checks.context import CheckContext
from shipyard.checks.policy_monitoring import metrics_that_exist, predictor_version_annotation, promtool_check_rules
from shipyard.monitoring.promql import PromQLError, parse
from shipyard.monitoring.promtool import Promtool
from shipyard.objects import K8sObject, Source
from shipyard.render.target import RenderedTarget
from shipyard.repo import DEFAULT_KUBE_VERSION


def _ctx(*bodies: dict[str, Any]) -> CheckContext:
    objects = [K8sObject(body=b, source=Source("models/x/monitoring/prometheusrule.yaml", 1)) for b in bodies]
    return CheckContext(targets=[RenderedTarget(name="t", kind="overlay", objects=objects,
                                                kube_version=DEFAULT_KUBE_VERSION, cluster=None, environment=None)])


def _rule(spec: Any) -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "x", "namespace": "models"}, "spec": spec}


SDEP = {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment", "metadata": {"name": "x"},
        "spec": {"predictors": [{"name": "p", "labels": None, "annotations": "not a map"}, "not a predictor"]}}

ODD_SPECS: list[Any] = [
    None, "groups", [], {"groups": None}, {"groups": "x"}, {"groups": [None, 1, "a", []]},
    {"groups": [{"name": "g", "rules": None}]}, {"groups": [{"name": "g", "rules": [None, 1, {"expr": None}]}]},
    {"groups": [{"name": 'we"ird\n', "rules": [{"alert": "A\u2603", "expr": 12}]}]},
    {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "x offset 1e309"}]}]},
    {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "(" * 300 + "up" + ")" * 300}]}]},
    {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": " + ".join(["seldon_api_executor_server_requests_seconds_count"] * 300)}]}]},
    {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": 'x{code=~"(("}', "annotations": {"s": 1, "t": None}}]}]},
    {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "predictor_version", "labels": ["a"]}]}]},
    {"groups": [{"name": "g", "rules": [{"alert": "A", "for": {"a": 1}, "expr": "up",
                                         "annotations": {"summary": "{{ $labels.x }"}}]}]},
]


@pytest.mark.parametrize("spec", ODD_SPECS, ids=range(len(ODD_SPECS)))
def test_odd_rules_give_findings_not_tracebacks(spec: Any, promtool: Promtool, capfd: pytest.CaptureFixture[str]) -> None:
    ctx = _ctx(_rule(spec), SDEP)
    for check in (promtool_check_rules, metrics_that_exist, predictor_version_annotation):
        for finding in check(ctx):
            assert finding.message and finding.file
    out, err = capfd.readouterr()
    assert out == "" and err == ""


_TOKENS = st.sampled_from(['sum', 'by', '(', ')', '{', '}', 'seldon_api_executor_server_requests_seconds_count',
                           'code', '=~', '!~', '"2..|OK"', '[5m]', 'offset', '1e309', 'rate', ',', '+', 'on', 'le',
                           'group_left', 'bool', '>', '0.05', 'histogram_quantile', 'label_replace', '"a"', 'nan',
                           'count_values', 'topk', 'without', 'and', 'or', 'absent', ':', '1m', '@', 'predictor_name'])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKENS, max_size=30).map(" ".join) | st.text(max_size=60))
def test_any_expression_parses_or_says_why(text: str) -> None:
    try:
        expr = parse(text)
    except PromQLError as exc:
        assert str(exc)
        return
    ctx = _ctx(_rule({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": text,
                                                         "annotations": {"s": "{{ $labels.predictor_version }}"}}]}]}))
    list(metrics_that_exist(ctx))
    assert expr.text == text
