"""The strict schemas of the Training Operator's jobs and Katib's Experiment
are what their Go types say, and are regenerated when those change.

The committed files under tools/shipyard/data/strict-schemas/ must be
exactly what shipyard.schemas.go_types builds from the committed type model
(go-types.json) and the mirror's Training Operator CRD; the type model must be
what the Go files at the pinned tags say (checked where the upstream
repositories are at hand: SHIPYARD_UPSTREAM_SOURCES names a folder holding
kubeflow/trainer.git and kubeflow/katib.git).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.objects import K8sObject, Source
from shipyard.schemas import go_types
from shipyard.schemas.crds import CrdIndex, versions_of_crd
from shipyard.schemas.strict import strict_schemas


def committed(name: str) -> str:
    return (go_types.STRICT_DIR / name).read_text(encoding="utf-8")


def test_the_committed_schemas_are_what_the_type_model_builds(mirror_dir: Path) -> None:
    text, blob = go_types.mirror_crd(mirror_dir)
    outputs = go_types.build(go_types.read_model(), text, blob)
    stale = [name for name, body in outputs.items() if committed(name) != body]
    assert stale == [], "stale: run python -m shipyard.schemas.go_types build"
    on_disk = {p.name for p in go_types.STRICT_DIR.glob("*.json")} - {go_types.TYPE_MODEL}
    assert on_disk == set(outputs)


def test_the_type_model_is_what_the_go_files_say() -> None:
    folder = os.environ.get("SHIPYARD_UPSTREAM_SOURCES")
    if not folder:
        pytest.skip("SHIPYARD_UPSTREAM_SOURCES is not set (a folder with kubeflow/trainer.git and kubeflow/katib.git)")
    root = Path(folder)
    model = go_types.extract({go_types.TRAINER: root / "kubeflow" / "trainer.git",
                              go_types.KATIB: root / "kubeflow" / "katib.git"})
    assert go_types.model_text(model) == committed(go_types.TYPE_MODEL), \
        "stale: run python -m shipyard.schemas.go_types extract"


def _keys(node: Any, path: str = "") -> set[str]:
    out: set[str] = set()
    if not isinstance(node, dict):
        return out
    for name, child in (node.get("properties") or {}).items():
        out.add(f"{path}.{name}")
        out |= _keys(child, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        out |= _keys(node["additionalProperties"], f"{path}.*")
    if isinstance(node.get("items"), dict):
        out |= _keys(node["items"], f"{path}[]")
    return out


@pytest.mark.parametrize("plural", ["pytorchjobs", "xgboostjobs", "tfjobs", "mpijobs", "paddlejobs", "jaxjobs"])
def test_a_job_schema_declares_the_fields_controller_gen_declares(plural: str, mirror_dir: Path) -> None:
    """Same fields and required fields as the CRD controller-gen made from
    the same Go types: the parser misses nothing and invents nothing."""
    git_dir = mirror_dir / "git" / "kubeflow" / "training-operator.git"
    upstream = yaml.load(subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"v1.9.4:manifests/base/crds/kubeflow.org_{plural}.yaml"],
        capture_output=True, check=True).stdout, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    theirs = upstream["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    ours = json.loads(committed(f"{plural}.kubeflow.org.json"))["crd"]["spec"]["versions"][0]["schema"][
        "openAPIV3Schema"]["properties"]["spec"]
    assert _keys(ours) == _keys(theirs)
    assert ours.get("required") == theirs.get("required")


def test_every_schema_names_its_upstream_go_files() -> None:
    provenance = json.loads(committed("PROVENANCE.json"))
    model = go_types.read_model()
    blobs = {f["path"]: f["blob"] for pkg in model["packages"].values() for f in pkg["files"]}
    kinds = {entry["kind"]: entry for entry in provenance["files"]}
    assert set(kinds) == {"PyTorchJob", "XGBoostJob", "TFJob", "MPIJob", "PaddleJob", "JAXJob", "Experiment"}
    assert kinds["Experiment"]["upstream"] == "kubeflow/katib" and kinds["Experiment"]["tag"] == "v0.19.0"
    assert kinds["PyTorchJob"]["upstream"] == "kubeflow/trainer" and kinds["PyTorchJob"]["tag"] == "v1.9.4"
    for entry in provenance["files"]:
        assert entry["go_files"], entry["kind"]
        assert all(blobs[f["path"]] == f["blob"] for f in entry["go_files"])


def _run_crd(kind: str, plural: str, version: str, schema: dict[str, Any]) -> K8sObject:
    body = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.kubeflow.org"},
            "spec": {"group": "kubeflow.org", "names": {"kind": kind, "plural": plural}, "scope": "Namespaced",
                     "versions": [{"name": version, "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema}}]}}
    return K8sObject(body, Source("crd.yaml", 1))


def test_the_strict_schema_wins_over_the_rendered_crd() -> None:
    loose = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    index = CrdIndex.from_objects([_run_crd("Experiment", "experiments", "v1beta1", loose)])
    found = index.get("kubeflow.org/v1beta1", "Experiment")
    assert found is not None and found.source.startswith("strict:")
    validator, _ = index.compiled(found)
    assert not validator.is_valid({"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",
                                   "metadata": {"name": "x"}, "spec": {"maxTrialCountt": 3}})
    assert validator.is_valid({"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",
                               "metadata": {"name": "x"}, "spec": {"maxTrialCount": 3}})
    # Kinds without a strict schema keep the run's CRD.
    other = CrdIndex.from_objects([_run_crd("Suggestion", "suggestions", "v1beta1", loose)])
    suggestion = other.get("kubeflow.org/v1beta1", "Suggestion")
    assert suggestion is not None and suggestion.source == "crd.yaml:1"


def test_a_kind_nothing_installs_stays_unknown_without_pinned_schemas() -> None:
    index = CrdIndex(use_pinned=False)
    assert index.get("kubeflow.org/v1", "PyTorchJob") is None
    assert CrdIndex().get("kubeflow.org/v1", "PyTorchJob") is strict_schemas()[("kubeflow.org", "v1", "PyTorchJob")]


def test_the_go_parser_reads_markers_tags_and_typed_constants() -> None:
    source = '''package v1

import (
	v1 "k8s.io/api/core/v1"
)

type Mode string

const (
	ModeFast Mode = "Fast"
	ModeSlow Mode = "Slow"
	Other        = "not a Mode"
)

type Spec struct {
	// +kubebuilder:validation:Enum=a;b
	Letter string `json:"letter,omitempty"`
	//+kubebuilder:validation:Optional
	Mode Mode `json:"mode"`
	Count *int32 `json:"count"`
	Template v1.PodTemplateSpec `json:"template,omitempty"`
}
'''
    parsed = go_types.parse_go(source, "x.go")
    assert parsed["imports"] == {"v1": "k8s.io/api/core/v1"}
    assert parsed["consts"] == {"Mode": ["Fast", "Slow"]}
    fields = {f["json"]: f for f in parsed["structs"]["Spec"]}
    assert fields["letter"]["enum"] == ["a", "b"] and not fields["letter"]["required"]
    assert not fields["mode"]["required"] and fields["count"]["required"]
    assert fields["template"]["type"] == "v1.PodTemplateSpec"


def test_a_struct_field_the_parser_cannot_read_is_a_clear_error() -> None:
    from shipyard.errors import ShipyardError

    with pytest.raises(ShipyardError, match=r"x.go:2: cannot read the struct field"):
        go_types.parse_go("type Spec struct {\n\tfunc() `json:\"x\"` extra words\n}\n", "x.go")


def test_versions_of_the_strict_files_are_served() -> None:
    for version in strict_schemas().values():
        assert version.served and version.schema is not None
        assert versions_of_crd({"spec": {"group": version.group, "names": {"kind": version.kind},
                                         "versions": [{"name": version.version}]}}, "x")


def test_the_generator_refuses_a_missing_repository_and_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in go_types.STRICT_DIR.iterdir()}
    assert go_types.main(["extract", "--trainer", "/nonexistent", "--katib", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "no pkg/apis/kubeflow.org/v1/common_types.go" in err and "hint:" in err
    assert {p.name: p.read_bytes() for p in go_types.STRICT_DIR.iterdir()} == before
