"""Model declarations, gates, generated components and pin editing, as
library functions (no git, no kustomize)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from shipyard.errors import ShipyardError
from shipyard.load import load_located
from shipyard.lifecycle.pin_edit import PinState, edit_pin_text
from shipyard.lifecycle.pr_body import rendered_changes
from shipyard.lifecycle.promote import plan_promote
from shipyard.lifecycle.register import read_metrics
from shipyard.models.components import component_problems, component_text
from shipyard.models.pins import read_pin, read_pins
from shipyard.models.spec import Bound, Version, load_model, model_problems
from shipyard.repo import Repository

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "lifecycle"


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    shutil.copytree(FIXTURE, tmp_path / "repo")
    return Repository.load(tmp_path / "repo")


def _problems(repo: Repository, text: str) -> list[str]:
    (repo.root / "models/iris/model.yaml").write_text(text)
    _model, problems = model_problems(repo, "iris")
    return [str(problem) for problem in problems]


# --- YAML with lines -------------------------------------------------------

def test_lines_of_keys_and_items() -> None:
    doc = load_located("a:\n  b: 1\n  c:\n  - x\n  - y\n", "f.yaml")
    assert doc.data == {"a": {"b": 1, "c": ["x", "y"]}}
    assert doc.line(("a", "b")) == 2 and doc.line(("a", "c", 1)) == 5
    assert doc.line(("a", "missing", 3)) == 1  # nearest known parent


def test_duplicate_key_is_an_error() -> None:
    with pytest.raises(ShipyardError) as err:
        load_located("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert (err.value.file, err.value.line) == ("f.yaml", 3)
    assert "duplicate key a (first at line 1)" in err.value.message


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ShipyardError) as err:
        load_located("a: [1, 2\nb: 3\n", "f.yaml")
    assert err.value.file == "f.yaml" and err.value.line


def test_unquoted_timestamps_become_strings() -> None:
    assert load_located("created: 2026-11-01T00:00:00Z\n", "f").data == {"created": "2026-11-01T00:00:00Z"}


# --- schema and semantic rules -------------------------------------------

def test_fixture_models_are_valid(repo: Repository) -> None:
    for name in ("iris", "resnet"):
        assert model_problems(repo, name)[1] == []


@pytest.mark.parametrize("old,new,expected,at", [
    ("  owner: ml-platform@example.com\n", "", 'spec: "owner" is a required property', "spec:"),
    ("    gpu: 0\n", "    gpu: 0\n    gpus: 1\n", "spec.serving: unknown field 'gpus'; allowed here:", "gpus: 1"),
    ("    protocol: seldon\n", "    protocol: tensorflow\n", 'spec.serving.protocol: "tensorflow" is not one of',
     "protocol: tensorflow"),
    ("    implementation: SKLEARN_SERVER\n", "    implementation: SKLEARN_SERVER\n    image: repo/x:1.0\n",
     "set exactly one of serving.implementation", "serving:"),
    ("  - version: 1.1.0\n", "  - version: 1.10\n", "a version must be a string; quote it", "version: 1.10"),
    ("gs://models-example/iris/1.1.0", "gs://models-example/iris/latest", "moving location", "iris/latest"),
    ("    pipelineRun: run-0002\n", "    pipelineRun: run-0002\n    sha: x\n", "unknown field 'sha'", "sha: x"),
    ('created: "2026-10-15T00:00:00Z"', 'created: "yesterday"', "created must be an RFC 3339 date-time", "yesterday"),
    ("    canaryReplicas: {dev: 1, staging: 1, production: 2}\n", "    canaryReplicas: 0\n",
     "canaryReplicas is a number", "canaryReplicas: 0"),
])
def test_schema_problem_at_its_line(repo: Repository, old: str, new: str, expected: str, at: str) -> None:
    text = (repo.root / "models/iris/model.yaml").read_text()
    assert old in text
    changed = text.replace(old, new, 1)
    problems = _problems(repo, changed)
    assert problems, changed
    file, line, message = problems[0].split(":", 2)
    assert file == "models/iris/model.yaml"
    assert expected in message
    assert at in changed.splitlines()[int(line) - 1]


def test_semantic_rules(repo: Repository) -> None:
    text = (repo.root / "models/iris/model.yaml").read_text()
    problems = _problems(repo, text.replace("  name: iris\n", "  name: iris2\n"))
    assert problems == ["models/iris/model.yaml:5: metadata.name is 'iris2' but the folder is models/iris"]
    reused = text.replace("iris/1.1.0", "iris/1.0.0")
    line = reused.splitlines().index("    modelUri: gs://models-example/iris/1.0.0", 35) + 1
    assert _problems(repo, reused) == [f"models/iris/model.yaml:{line}: modelUri is already registered for version '1.0.0'"]
    renamed = text.replace("      production: 2   # two zones", "      prod: 2")
    line = renamed.splitlines().index("      prod: 2") + 1
    assert _problems(repo, renamed) == [f"models/iris/model.yaml:{line}: serving.replicas: unknown environment 'prod'"]


# --- gates -----------------------------------------------------------------

def test_gates(repo: Repository) -> None:
    model = load_model(repo, "iris")
    assert model.gate_failures(model.get("1.1.0"), "production") == []
    assert model.gate_failures(model.get("1.2.0"), "production") == ["accuracy = 0.91 fails the gate (>= 0.93)"]
    assert model.gate_failures(model.get("1.2.0"), "staging") == []
    assert model.gate_failures(model.get("1.2.0"), "dev") == []
    bound = Bound("latency_p95", max=0.2)
    assert bound.passes(0.1) and not bound.passes(0.3) and not bound.passes(None)
    missing = Version("9", "gs://x/9", {"accuracy": 0.99}, "2026-01-01T00:00:00Z")
    assert model.gate_failures(missing, "production") == ["f1_macro is not reported (gate: >= 0.9)"]


# --- components ------------------------------------------------------------

def test_component_values_stay_strings(repo: Repository) -> None:
    model = load_model(repo, "iris")
    version = Version("1.10", "gs://b/iris/1.10", {}, "2026-01-01T00:00:00Z")
    component = yaml.safe_load(component_text(model, version))
    ops = yaml.safe_load(component["patches"][0]["patch"])
    assert {op["path"]: op.get("value") for op in ops} == {
        "/spec/predictors/0/graph/modelUri": "gs://b/iris/1.10",
        "/spec/predictors/0/labels": {"version": "1.10"},
        "/spec/predictors/0/annotations": {"version": "1.10"},  # the executor's predictor_version
        "/metadata/labels/shipyard.dev~1model-version": "1.10",
    }
    canary = yaml.safe_load(yaml.safe_load(component_text(model, version, canary=True))["patches"][0]["patch"])
    assert canary[0] == {"op": "copy", "from": "/spec/predictors/0", "path": "/spec/predictors/1"}


def test_component_problems(repo: Repository) -> None:
    model = load_model(repo, "iris")
    assert component_problems(repo, model) == []
    (repo.root / "models/iris/versions/1.2.0/canary/kustomization.yaml").unlink()
    (repo.root / "models/iris/versions/0.9.0").mkdir()
    assert [str(x) for x in component_problems(repo, model)] == [
        "models/iris/versions/1.2.0/canary/kustomization.yaml:1: missing: generated component for a registered version",
        "models/iris/versions/0.9.0:1: component for version '0.9.0', which models/iris/model.yaml does not register",
    ]


# --- pins ------------------------------------------------------------------

def test_read_pins(repo: Repository) -> None:
    pins = read_pins(repo, "dev")
    assert {k: (v.stable, v.canary, v.replicas) for k, v in pins.items()} == {
        "iris": ("1.0.0", None, {0: 1}), "resnet": ("2026.10", None, {0: 1})}
    assert pins["iris"].stable_line == 8


def test_edit_is_stable_and_reversible(repo: Repository) -> None:
    text = (repo.root / "overlays/production/models/iris/kustomization.yaml").read_text()
    same = edit_pin_text(repo, "production", "iris", text, PinState("1.0.0", 2))
    assert same == text
    canary = edit_pin_text(repo, "production", "iris", text, PinState("1.0.0", 2, "1.1.0", 5, 2))
    assert canary.count("versions/1.1.0/canary") == 1
    assert edit_pin_text(repo, "production", "iris", canary, PinState("1.0.0", 2, "1.1.0", 5, 2)) == canary
    assert edit_pin_text(repo, "production", "iris", canary, PinState("1.0.0", 2)) == text


def test_indented_sequences_stay_indented(repo: Repository) -> None:
    text = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
            "  - ../../../../models/iris/deploy\ncomponents:\n  - ../../../../models/iris/versions/1.0.0\n")
    edited = edit_pin_text(repo, "dev", "iris", text, PinState("1.1.0", 1))
    assert "components:\n  - ../../../../models/iris/versions/1.1.0\n" in edited
    assert "resources:\n  - ../../../../models/iris/deploy\n" in edited


def test_pin_in_the_environment_file_must_move(repo: Repository) -> None:
    env_file = repo.root / "overlays/dev/models/kustomization.yaml"
    shutil.rmtree(repo.root / "overlays/dev/models/iris")
    env_file.write_text("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
                        "- ../../../models/iris/deploy\n- resnet\ncomponents:\n- ../../../models/iris/versions/1.0.0\n")
    pin = read_pin(repo, "dev", "iris")
    assert pin is not None and (pin.file, pin.stable, pin.stable_line) == ("overlays/dev/models/kustomization.yaml", "1.0.0", 7)
    with pytest.raises(ShipyardError) as err:
        plan_promote(repo, "iris", "dev", version="1.1.0")
    assert "iris is pinned in overlays/dev/models/kustomization.yaml, not in its own folder" in err.value.message


# --- metrics files and the rendered summary -------------------------------

@pytest.mark.parametrize("content", [
    '{"accuracy": 0.9, "f1": 1}',
    '{"metrics": {"accuracy": 0.9, "f1": 1}}',
    '{"metrics": [{"name": "accuracy", "numberValue": 0.9}, {"name": "f1", "numberValue": 1}]}',
    "accuracy: 0.9\nf1: 1\n",
])
def test_read_metrics(tmp_path: Path, content: str) -> None:
    path = tmp_path / "metrics"
    path.write_text(content)
    assert read_metrics(path) == {"accuracy": 0.9, "f1": 1}


def test_rendered_changes() -> None:
    def sd(*predictors):
        return {"kind": "SeldonDeployment", "metadata": {"name": "iris", "namespace": "models"},
                "spec": {"predictors": list(predictors)}}

    stable = {"name": "default", "traffic": 100, "graph": {"modelUri": "gs://a"}}
    canary = {"name": "canary", "traffic": 10, "graph": {"modelUri": "gs://b"}}
    lines = rendered_changes([sd(stable)], [sd({**stable, "traffic": 90}, canary)])
    assert lines == ["- `SeldonDeployment models/iris`:",
                     "  - `spec.predictors[default].traffic`: `100` → `90`",
                     "  - `spec.predictors[canary]`: added"]
    assert rendered_changes([], [sd(stable)]) == ["- `SeldonDeployment models/iris`: added"]
    assert rendered_changes([sd(stable)], [sd(stable)]) == ["- no change in the rendered objects"]


def test_status_and_the_gpu_policies_count_gpus_the_same_way() -> None:
    """One counter: a GPU asked for in requests only, and an init container
    that needs more than the main ones, count for `status` as for SY303/SY304."""
    from shipyard.checks.policies import pod_gpus, pod_specs
    from shipyard.load import load_text
    from shipyard.models.status import placements_in

    text = """\
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata: {name: gpu-model, namespace: models}
spec:
  predictors:
  - name: default
    replicas: 2
    graph: {name: model, implementation: TRITON_SERVER, modelUri: gs://b/m/1}
    componentSpecs:
    - spec:
        initContainers:
        - {name: warm, image: x@sha256:1, resources: {limits: {nvidia.com/gpu: 2}}}
        containers:
        - {name: model, image: x@sha256:2, resources: {requests: {nvidia.com/gpu: "1"}}}
"""
    obj = load_text(text, "sd.yaml").objects[0]
    rows = placements_in([obj.body], "production", ["prod-1"])
    assert [(r.replicas, r.gpus) for r in rows] == [(2, 4)]  # 2 replicas x max(main 1, init 2)
    assert [pod_gpus(pod) for pod in pod_specs(obj)] == [2]


# --- GPUs ------------------------------------------------------------------

def _resnet_base() -> dict:
    return yaml.safe_load((FIXTURE / "models/resnet/deploy/seldondeployment.yaml").read_text())


def test_gpu_patch_covers_a_canary_and_adds_to_what_the_base_writes(repo: Repository) -> None:
    """The pin's patches run after the canary's component copied predictor
    0, so both predictors get the GPUs; labels and tolerations the base
    already writes are kept, and none is listed twice."""
    from shipyard.models.gpus import GpuNodes, apply_ops, gpu_ops

    model = load_model(repo, "resnet")
    base = _resnet_base()
    pod = base["spec"]["predictors"][0]["componentSpecs"][0]["spec"]
    pod["nodeSelector"] = {"pool": "inference"}
    pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    nodes = GpuNodes({"nvidia.com/gpu.present": "true"},
                     ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},), ("staging-1",))
    copied = apply_ops(base, [{"op": "copy", "from": "/spec/predictors/0", "path": "/spec/predictors/1"}])
    out = apply_ops(copied, gpu_ops(model, base, 2, nodes, 2))
    for predictor in out["spec"]["predictors"]:
        spec = predictor["componentSpecs"][0]["spec"]
        assert spec["nodeSelector"] == {"pool": "inference", "nvidia.com/gpu.present": "true"}
        assert spec["tolerations"] == pod["tolerations"]
        assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 2
        assert spec["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] == 2
    assert base["spec"]["predictors"][0]["componentSpecs"][0]["spec"] is pod  # the base itself is untouched
    assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"]


def test_gpu_patch_in_a_pin_is_stable_and_goes_away_on_cpu(repo: Repository) -> None:
    from shipyard.models.gpus import GpuNodes, gpu_ops, gpu_patch_text

    model = load_model(repo, "resnet")
    nodes = GpuNodes({"nvidia.com/gpu.present": "true"}, (), ("staging-1",))
    patch = gpu_patch_text(model, "dev", 1, nodes, gpu_ops(model, _resnet_base(), 1, nodes, 1))
    text = (repo.root / "overlays/dev/models/resnet/kustomization.yaml").read_text()
    with_gpus = edit_pin_text(repo, "dev", "resnet", text, PinState("2026.10", 1), patch)
    assert with_gpus.startswith(text) and "# GPUs: generated by shipyard" in with_gpus
    assert edit_pin_text(repo, "dev", "resnet", with_gpus, PinState("2026.10", 1), patch) == with_gpus
    assert edit_pin_text(repo, "dev", "resnet", with_gpus, PinState("2026.10", 1), None) == text


def test_clusters_of_an_environment_must_agree_on_gpu_nodes(repo: Repository) -> None:
    from shipyard.models.gpus import GpuNodes, gpu_nodes
    from shipyard.models.problem import Problem

    agreed = gpu_nodes(repo.clusters(), "production")
    assert isinstance(agreed, GpuNodes) and agreed.clusters == ("prod-eu", "prod-us")
    path = repo.root / "clusters/prod-us/cluster.yaml"
    path.write_text(path.read_text().replace("effect: NoSchedule", "effect: NoExecute"))
    problem = gpu_nodes(repo.clusters(), "production")
    assert isinstance(problem, Problem) and problem.id == "SY303"
    assert problem.file == "clusters/prod-us/cluster.yaml" and problem.line == 9
    assert gpu_nodes(repo.clusters(), "qa") == GpuNodes({}, (), ())


def test_one_capacity_rule(repo: Repository) -> None:
    from shipyard.models import rules
    from shipyard.quantities import GpuDemand

    cluster = repo.cluster("staging-1")
    fits = [GpuDemand("SeldonDeployment models/a", 1, 2)]
    assert rules.gpu_capacity(cluster, fits, at=("clusters/staging-1/cluster.yaml", 9)) is None
    over = rules.gpu_capacity(cluster, [*fits, GpuDemand("SeldonDeployment models/b", 1, 1)], at=("c", 9))
    assert over is not None and over.id == "SY304"
    assert over.message == ("cluster 'staging-1' has 2 GPU(s) but its workloads request 3 (GPUs x replicas): "
                            "SeldonDeployment models/a: 1 x 2; SeldonDeployment models/b: 1 x 1")


def test_cluster_gpu_facts_are_checked(repo: Repository) -> None:
    path = repo.root / "clusters/staging-1/cluster.yaml"
    path.write_text(path.read_text().replace('{nvidia.com/gpu.present: "true"}', "{nvidia.com/gpu.present: true}"))
    with pytest.raises(ShipyardError, match="quote the value|a node label and its value are strings"):
        repo.cluster("staging-1")
