"""new model on the lifecycle fixture: what the files say for a server, a
protocol and GPUs, and that register + promote take the model from there
with no hand edit (promote lists it in the environment itself)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import yaml
from shipyard.models.rules import seldon_deployments
from shipyard.models.spec import model_problems
from shipyard.repo import Repository
from shipyard.targets import build_folder

if TYPE_CHECKING:
    from conftest import ScaffoldRepo


def test_a_gpu_triton_model_goes_from_new_to_dev(lc: ScaffoldRepo, tmp_path) -> None:
    run = lc.shipyard("new", "model", "fraud-detector", "--server", "triton_server", "--gpus", "1",
                      "--owner", "risk@example.com", "--description", "Card fraud scores, one per transaction.")
    assert run.code == 0, run.err
    assert sorted(line.split()[-1] for line in run.out.splitlines() if line.startswith("  changed ")) == [
        f"models/fraud-detector/{rel}" for rel in (
            "deploy/kustomization.yaml", "deploy/seldondeployment.yaml", "model.yaml",
            "monitoring/kustomization.yaml", "monitoring/podmonitor.yaml", "monitoring/prometheusrule.yaml",
            "monitoring/tests/alerts.yaml")]
    spec = yaml.safe_load(lc.read("models/fraud-detector/model.yaml"))["spec"]
    assert spec["serving"]["implementation"] == "TRITON_SERVER" and spec["serving"]["protocol"] == "v2"  # Triton: v2 only
    assert spec["serving"]["gpu"] == 1 and spec["serving"]["replicas"] == {"dev": 1, "staging": 1, "production": 2}
    assert spec["versions"] == [] and "gates" not in spec
    sd = yaml.safe_load(lc.read("models/fraud-detector/deploy/seldondeployment.yaml"))
    predictor = sd["spec"]["predictors"][0]
    pod = predictor["componentSpecs"][0]["spec"]
    container = pod["containers"][0]
    assert (predictor["graph"]["name"], container["name"]) == ("model", "model")  # a node's container shares its name
    # deploy/ is the CPU shape: GPU facts come from model.yaml and cluster.yaml through the pins, never copied here
    assert "nvidia.com/gpu" not in container["resources"]["limits"]
    assert "nodeSelector" not in pod and "tolerations" not in pod
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}  # Triton: ours
    rules = yaml.safe_load(lc.read("models/fraud-detector/monitoring/prometheusrule.yaml"))["spec"]["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == ["FraudDetectorHighErrorRate", "FraudDetectorHighLatency"]
    assert 'deployment_name="fraud-detector"' in rules[0]["expr"]
    assert lc.dirty() == [f"?? models/fraud-detector/{rel}" for rel in (
        "deploy/kustomization.yaml", "deploy/seldondeployment.yaml", "model.yaml",
        "monitoring/kustomization.yaml", "monitoring/podmonitor.yaml", "monitoring/prometheusrule.yaml",
        "monitoring/tests/alerts.yaml")]

    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"auc": 0.93}))
    reg = lc.shipyard("register", "fraud-detector", "--version", "2026.11", "--uri",
                      "gs://models-example/fraud-detector/2026.11", "--metrics", str(metrics))
    assert reg.code == 0, reg.err
    assert yaml.safe_load(lc.read("models/fraud-detector/model.yaml"))["spec"]["versions"][0]["version"] == "2026.11"
    lc.commit_all("fraud-detector 2026.11")
    promoted = lc.shipyard("promote", "fraud-detector", "--to", "dev")
    assert promoted.code == 0, promoted.err
    assert "fraud-detector" in yaml.safe_load(lc.read("overlays/dev/models/kustomization.yaml"))["resources"]
    repo = Repository.load(lc.root)
    rendered = {o["metadata"]["name"]: o for o in seldon_deployments(build_folder(repo, repo.root / "overlays/dev/models",
                                                                                  use_cache=False))}
    served = rendered["fraud-detector"]["spec"]["predictors"][0]
    assert (served["graph"]["modelUri"], served["labels"], served["replicas"]) == \
        ("gs://models-example/fraud-detector/2026.11", {"version": "2026.11"}, 1)
    pod = served["componentSpecs"][0]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1  # the pin's generated GPU patch
    # the node selector and tolerations are what the dev cluster's cluster.yaml says (none: capacity only)
    assert "nodeSelector" not in pod and "tolerations" not in pod


def test_an_mlserver_model_with_gpus_per_environment(lc: ScaffoldRepo) -> None:
    """--gpus ENV=N: CPU where not named; the operator's MLServer probes are not written twice."""
    run = lc.shipyard("new", "model", "churn", "--server", "XGBOOST_SERVER", "--protocol", "v2",
                      "--gpus", "staging=1,production=1", "--owner", "ml@example.com")
    assert run.code == 0, run.err
    spec = yaml.safe_load(lc.read("models/churn/model.yaml"))["spec"]
    assert spec["serving"]["gpu"] == {"dev": 0, "staging": 1, "production": 1}
    assert spec["serving"]["replicas"]["dev"] == 1
    container = yaml.safe_load(lc.read("models/churn/deploy/seldondeployment.yaml"))[
        "spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"][0]
    assert "readinessProbe" not in container and "livenessProbe" not in container
    refused = lc.shipyard("new", "model", "other", "--server", "XGBOOST_SERVER", "--gpus", "qa=1",
                          "--owner", "ml@example.com")
    assert refused.code == 2 and "--gpus names qa, which run no models" in refused.err
    bad = lc.shipyard("new", "model", "other", "--server", "XGBOOST_SERVER", "--gpus", "staging=one",
                      "--owner", "ml@example.com")
    assert bad.code == 2 and "'one' is not a whole number" in bad.err and "Traceback" not in bad.err


def test_names_that_yaml_would_misread_stay_strings(lc: ScaffoldRepo) -> None:
    run = lc.shipyard("new", "model", "1234", "--image", "registry.example.com/m:1.0", "--owner", "ml@example.com")
    assert run.code == 0, run.err
    model, problems = model_problems(Repository.load(lc.root), "1234")
    assert problems == [] and model is not None and model.doc.data["metadata"]["name"] == "1234"
    sd = yaml.safe_load(lc.read("models/1234/deploy/seldondeployment.yaml"))
    assert sd["metadata"]["name"] == "1234" and sd["spec"]["protocol"] == "seldon"
    assert "implementation" not in sd["spec"]["predictors"][0]["graph"]  # a custom image is the server
    rules = yaml.safe_load(lc.read("models/1234/monitoring/prometheusrule.yaml"))["spec"]["groups"][0]["rules"]
    assert rules[0]["alert"] == "Model1234HighErrorRate"  # an alert name starts with a letter
