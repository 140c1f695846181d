"""SY319 finds the rules that read a deployment's executor metrics through
an index by deployment name (shipyard.checks.policy_monitoring._by_deployment):
the same findings as trying every rule on every deployment, for rules that
name one deployment, several by a regular expression, or none."""

from __future__ import annotations

from typing import Any

from shipyard.checks.context import CheckContext
from shipyard.checks.policy_monitoring import predictor_version_annotation
from shipyard.objects import K8sObject, Source
from shipyard.render.target import RenderedTarget
from shipyard.repo import DEFAULT_KUBE_VERSION

METRIC = "seldon_api_executor_server_requests_seconds_count"


def _rule(name: str, matcher: str) -> dict[str, Any]:
    return {"alert": name, "expr": f'sum by (predictor_version) (rate({METRIC}{{{matcher}}}[5m])) > 0',
            "labels": {"severity": "warning"}}


def _deployment(name: str) -> dict[str, Any]:
    """A SeldonDeployment whose predictor has no version annotation."""
    return {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment",
            "metadata": {"name": name, "namespace": "models"},
            "spec": {"predictors": [{"name": "default", "graph": {"name": "m", "implementation": "SKLEARN_SERVER"}}]}}


def _users(rules: list[dict[str, Any]], deployments: list[str]) -> dict[str, str]:
    body = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "rules", "namespace": "models"}, "spec": {"groups": [{"name": "g", "rules": rules}]}}
    objects = [K8sObject(body=b, source=Source("models/x/manifests.yaml", 1)) for b in [body, *map(_deployment, deployments)]]
    ctx = CheckContext(targets=[RenderedTarget("t", "overlay", objects, DEFAULT_KUBE_VERSION)])
    return {f.object.name if f.object else "": f.message for f in predictor_version_annotation(ctx)}


def test_a_rule_that_names_one_deployment_covers_only_it() -> None:
    found = _users([_rule("OnlyA", 'deployment_name="a"')], ["a", "b"])
    assert set(found) == {"a"} and "OnlyA" in found["a"]


def test_a_regular_expression_or_no_name_covers_what_it_matches() -> None:
    found = _users([_rule("AorB", 'deployment_name=~"a|b"'), _rule("Everyone", 'namespace="models"'),
                    _rule("NotA", 'deployment_name!="a"')], ["a", "b", "c"])
    assert set(found) == {"a", "b", "c"}
    assert "AorB" in found["a"] and "AorB" in found["b"] and "AorB" not in found["c"]
    assert "NotA" not in found["a"] and "NotA" in found["c"]
    assert all("Everyone" in message for message in found.values())


def test_a_rule_with_two_names_for_one_selector_covers_neither() -> None:
    assert _users([_rule("Both", 'deployment_name="a", deployment_name="b"')], ["a", "b"]) == {}
