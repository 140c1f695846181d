"""SY2xx: seldon-core 1.17.1's admission rules, on fixture SeldonDeployments.

Each check has a failing and a passing case under tests/fixtures/checks/;
the failing case marks every line a finding must point at.
"""

from __future__ import annotations



from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.objects import K8sObject, Source


import shipyard_check_cases as cases  # registered by tests/conftest.py
SELDON_CHECKS = [c for c in cases.runnable("SY2") if c < "SY220"]  # SY220-SY239: Training Operator, Katib


def test_every_seldon_rule_is_a_registered_check() -> None:
    assert SELDON_CHECKS == ["SY201", "SY202", "SY203", "SY204", "SY205", "SY206", "SY207", "SY208"]


def _sdep(spec: dict, name: str = "m") -> CheckContext:
    body = {"apiVersion": "machinelearning.seldon.io/v1alpha2", "kind": "SeldonDeployment",
            "metadata": {"name": name, "namespace": "models"}, "spec": spec}
    obj = K8sObject(body=body, source=Source("models/m.yaml", 1))
    return CheckContext(targets=[RenderedTarget("t", "overlay", [obj], "1.33.0")])


def _node(name: str = "clf", uri: str = "gs://b/m") -> dict:
    return {"name": name, "implementation": "SKLEARN_SERVER", "modelUri": uri}


def test_traffic_rules_follow_the_webhook_exactly() -> None:
    # Single predictor: 0 (unset) and 100 pass; 1..99 fail; above 100 is not refused by 1.17.
    for traffic, refused in ((0, False), (100, False), (1, True), (99, True), (150, False)):
        ctx = _sdep({"predictors": [{"name": "a", "traffic": traffic, "graph": _node()}]})
        assert bool(cases.run("SY201", ctx)) is refused, traffic
    # Two live predictors must sum to exactly 100, over or under.
    for shares, refused in (((50, 50), False), ((60, 50), True), ((100, 0), False), ((0, 0), True)):
        ctx = _sdep({"predictors": [{"name": "a", "traffic": shares[0], "graph": _node()},
                                    {"name": "b", "traffic": shares[1], "graph": _node()}]})
        assert bool(cases.run("SY201", ctx)) is refused, shares


def test_older_seldon_api_versions_are_validated_by_the_same_rules() -> None:
    # The webhook is registered for v1 with matchPolicy Equivalent: v1alpha2 objects are converted and checked.
    ctx = _sdep({"predictors": [{"name": "a", "graph": {"name": "clf", "implementation": "SKLEARN_SERVER"}}]})
    assert [f.check for f in cases.run("SY203", ctx)] == ["SY203"]


def test_prepackaged_servers_known_to_the_operator_come_from_the_rendered_config_map() -> None:
    # A seldon-config ConfigMap that adds a custom server makes it acceptable without an image.
    config = K8sObject(
        body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seldon-config", "namespace": "seldon-system"},
              "data": {"predictor_servers": '{"LIGHTGBM_SERVER": {"protocols": {"v2": {"image": "x/y", "defaultImageVersion": "1"}}}}'}},
        source=Source("chart:seldon-core-operator-1.17.1/templates/configmap_seldon-config.yaml", 1),
    )
    ctx = _sdep({"predictors": [{"name": "a", "graph": {"name": "clf", "implementation": "LIGHTGBM_SERVER", "modelUri": "s3://m"}}]})
    assert [f.message for f in cases.run("SY203", ctx)] != []
    ctx.targets[0].objects.append(config)
    ctx.cache.clear()
    assert cases.run("SY203", ctx) == []


def test_graph_children_are_checked_recursively() -> None:
    graph = {"name": "t", "type": "TRANSFORMER", "children": [
        {"name": "r", "type": "ROUTER", "children": [{"name": "deep", "type": "MODEL"}]}]}
    spec = {"predictors": [{"name": "p", "graph": graph, "componentSpecs": [
        {"spec": {"containers": [{"name": "t", "image": "a:1"}, {"name": "r", "image": "b:1"}]}}]}]}
    messages = [f.message for f in cases.run("SY205", _sdep(spec))]
    assert len(messages) == 1 and "'deep'" in messages[0]


def test_findings_name_the_object_file_and_line() -> None:
    case = cases.FIXTURES / "SY204" / "fail"
    (finding,) = cases.run("SY204", cases.load_case(case))
    assert finding.file == "manifests.yaml" and finding.line == 11
    assert str(finding.object) == "machinelearning.seldon.io/v1/SeldonDeployment models/dup"
    assert finding.hint
