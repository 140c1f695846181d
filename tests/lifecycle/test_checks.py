"""validate's SY5xx checks on the fixture: each mistake a person can make by
hand is reported with its check id, file and line, through the real
validate pipeline (kustomize renders, checks read the repository)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shipyard.checks import load_all
from shipyard.repo import Repository
from shipyard.validate import validate

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

MODEL_CHECKS = {k for k in load_all() if k.startswith("SY5")}


def findings(lc: LifecycleRepo, paths: list[str] | None = None) -> set[tuple[str, str, int]]:
    report = validate(Repository.load(lc.root), paths, only=MODEL_CHECKS, use_cache=False, jobs=1, cwd=lc.root)
    return {(f.check, f.file, f.line) for f in report.findings}


def line_of(lc: LifecycleRepo, rel: str, needle: str) -> int:
    return next(i for i, line in enumerate(lc.read(rel).splitlines(), 1) if needle in line)


def test_fixture_is_clean_and_stays_clean_through_the_lifecycle(lc: LifecycleRepo) -> None:
    assert findings(lc) == set()
    lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-branch")
    lc.shipyard("promote", "iris", "--to", "staging", "--no-branch")
    lc.shipyard("promote", "iris", "--to", "production", "--from", "staging", "--canary", "10", "--no-branch")
    assert findings(lc) == set()


def test_pin_to_unregistered_version(lc: LifecycleRepo) -> None:
    pin = "overlays/dev/models/iris/kustomization.yaml"
    component = lc.read("models/iris/versions/1.1.0/kustomization.yaml").replace("1.1.0", "7.0.0")
    lc.write("models/iris/versions/7.0.0/kustomization.yaml", component)
    lc.write(pin, lc.pin("dev").replace("versions/1.0.0", "versions/7.0.0"))
    found = findings(lc)
    assert ("SY502", pin, line_of(lc, pin, "versions/7.0.0")) in found
    assert ("SY505", "models/iris/versions/7.0.0", 1) in found  # a component model.yaml does not register


def test_overridden_model_uri(lc: LifecycleRepo) -> None:
    pin = "overlays/staging/models/iris/kustomization.yaml"
    lc.write(pin, lc.pin("staging") + "    - op: replace\n      path: /spec/predictors/0/graph/modelUri\n"
                                      "      value: gs://somewhere/else\n")
    assert findings(lc) == {("SY503", pin, line_of(lc, pin, "versions/1.0.0"))}


def test_pin_that_fails_the_gate(lc: LifecycleRepo) -> None:
    pin = "overlays/production/models/iris/kustomization.yaml"
    lc.write(pin, lc.pin("production").replace("versions/1.0.0", "versions/1.2.0"))
    assert findings(lc) == {("SY504", pin, line_of(lc, pin, "versions/1.2.0"))}


def test_model_yaml_schema(lc: LifecycleRepo) -> None:
    rel = "models/iris/model.yaml"
    lc.write(rel, lc.read(rel).replace("    gpu: 0\n", "    gpu: -1\n").replace(
        "  - version: 1.1.0\n", "  - version: 1.10\n"))
    found = findings(lc)
    assert ("SY501", rel, line_of(lc, rel, "gpu: -1")) in found
    assert ("SY501", rel, line_of(lc, rel, "version: 1.10")) in found


def test_component_out_of_sync(lc: LifecycleRepo) -> None:
    rel = "models/iris/versions/1.0.0/kustomization.yaml"
    lc.write(rel, lc.read(rel).replace("gs://models-example/iris/1.0.0", "gs://models-example/iris/1.0.0-rc"))
    found = findings(lc)
    assert ("SY505", rel, 1) in found
    # and every environment that pins 1.0.0 now renders the wrong artifact
    assert {f[1] for f in found if f[0] == "SY503"} == {f"overlays/{e}/models/iris/kustomization.yaml"
                                                        for e in ("dev", "staging", "production")}


def test_replicas_differ_from_model_yaml(lc: LifecycleRepo) -> None:
    pin = "overlays/production/models/iris/kustomization.yaml"
    lc.write(pin, lc.pin("production").replace("      value: 2\n", "      value: 5\n"))
    assert findings(lc) == {("SY506", pin, line_of(lc, pin, "patch: |-"))}


def test_canary_without_istio(lc: LifecycleRepo) -> None:
    pin = "overlays/dev/models/iris/kustomization.yaml"
    lc.write(pin, lc.pin("dev").replace(
        "- ../../../../models/iris/versions/1.0.0\n",
        "- ../../../../models/iris/versions/1.0.0\n- ../../../../models/iris/versions/1.1.0/canary\n",
    ).replace("      value: 1\n", "      value: 1\n    - op: replace\n      path: /spec/predictors/0/traffic\n"
                                  "      value: 80\n    - op: replace\n      path: /spec/predictors/1/traffic\n"
                                  "      value: 20\n"))
    assert findings(lc) == {("SY509", pin, line_of(lc, pin, "1.1.0/canary"))}


def test_serving_disagrees_with_model_yaml(lc: LifecycleRepo) -> None:
    rel = "models/iris/model.yaml"
    lc.write(rel, lc.read(rel).replace("    gpu: 0\n", "    gpu: 1\n"))
    found = findings(lc)
    assert {f[0] for f in found} == {"SY505", "SY507"}
    assert {f[1] for f in found if f[0] == "SY507"} == {"models/iris/deploy/seldondeployment.yaml"}
    # and each pin lacks the GPU patch generated from spec.serving.gpu
    assert {f[1] for f in found if f[0] == "SY505"} == {f"overlays/{e}/models/iris/kustomization.yaml"
                                                        for e in ("dev", "staging", "production")}


def test_monitoring_missing_is_a_warning(lc: LifecycleRepo) -> None:
    pin = "overlays/staging/models/iris/kustomization.yaml"
    lc.write(pin, lc.pin("staging").replace("- ../../../../models/iris/monitoring\n", ""))
    report = validate(Repository.load(lc.root), None, only=MODEL_CHECKS, use_cache=False, jobs=1)
    assert [(f.check, f.file, f.severity) for f in report.findings] == [("SY512", pin, "warning")]


@pytest.mark.parametrize("check_id", sorted(MODEL_CHECKS))
def test_every_model_check_is_documented(check_id: str) -> None:
    info = load_all()[check_id]
    assert info.title and info.rationale and info.hint


def test_canary_analysis_that_rollout_would_refuse(lc: LifecycleRepo) -> None:
    """spec.analysis is judged by validate with rollout --analyze's own rules (SY517)."""
    rel = "models/iris/model.yaml"
    text = lc.read(rel)
    lc.write(rel, text.replace("  versions:\n", "  analysis:\n    steps: [10, 50, 25]\n"
                                               "    metrics:\n      latencyP95: {max: 0.5}\n"
                                               "      custom: {query: 'sum(rate(x[$window]) by', max: 1}\n"
                                               "  versions:\n", 1))
    found = findings(lc)
    assert ("SY517", rel, line_of(lc, rel, "  analysis:")) in found
    assert ("SY517", rel, line_of(lc, rel, "custom:")) in found
    lc.write(rel, text)
    assert findings(lc) == set()


LOGGING_COMPONENT = """apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- target: {group: machinelearning.seldon.io, kind: SeldonDeployment, name: iris}
  patch: |-
    - op: add
      path: /spec/predictors/0/graph/logger
      value: {mode: request, url: "http://iris-request-sink.models.svc.cluster.local:8080/"}
"""


@pytest.mark.parametrize("placement, warned", [("first", False), ("missing", True), ("after the version", True)])
def test_request_logging_listed_before_the_version_in_monitored_pins(lc: LifecycleRepo, placement: str,
                                                                     warned: bool) -> None:
    lc.write("models/iris/monitoring/request-logging/kustomization.yaml", LOGGING_COMPONENT)
    repo = Repository.load(lc.root)
    pins = []
    for env in sorted(repo.settings.monitored):
        pin = f"overlays/{env}/models/iris/kustomization.yaml"
        text = lc.pin(env)
        version = next(line + "\n" for line in text.splitlines() if "/models/iris/versions/" in line)
        logging = "- ../../../../models/iris/monitoring/request-logging\n"
        if placement == "first":
            text = text.replace(version, logging + version)
        elif placement == "after the version":
            text = text.replace(version, version + logging)
        lc.write(pin, text)
        pins.append(pin)
    assert pins
    report = validate(Repository.load(lc.root), None, only=MODEL_CHECKS, use_cache=False, jobs=1)
    found = sorted((f.check, f.file, f.severity) for f in report.findings)
    assert found == (sorted(("SY512", pin, "warning") for pin in pins) if warned else []), report.findings
    assert all("request logging" in f.message for f in report.findings)


def test_a_new_pin_in_a_monitored_environment_lists_the_request_logging_first(lc: LifecycleRepo) -> None:
    from shipyard.lifecycle.pin_edit import PinState, new_pin_text

    lc.write("models/iris/monitoring/request-logging/kustomization.yaml", LOGGING_COMPONENT)
    repo = Repository.load(lc.root)
    text = new_pin_text(repo, "staging", "iris", PinState(stable="1.0.0", replicas=1))
    components = text.split("components:\n", 1)[1].split("patches:", 1)[0].split()
    assert components == ["-", "../../../../models/iris/monitoring/request-logging",
                          "-", "../../../../models/iris/versions/1.0.0"]
    dev = new_pin_text(repo, "dev", "iris", PinState(stable="1.0.0", replicas=1))
    assert "request-logging" not in dev  # dev is not monitored: no sink to send to
