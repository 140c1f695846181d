"""Kubernetes schema sets, CRD -> JSON Schema conversion, the CRD index and
the pinned CRD schema cache."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from shipyard.cli import main
from shipyard.errors import ShipyardError
from shipyard.load import load_text
from shipyard.schemas.cache import CACHE_DIR, PROVENANCE, git_blob_id, update_cache
from shipyard.schemas.crds import (
    CrdIndex,
    guess_plural,
    pinned,
    strip_descriptions,
    to_json_schema,
    versions_of_crd,
)
from shipyard.schemas.kubernetes import KubernetesSchemas, choose_version, shipped_versions

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------
# Kubernetes schema sets


def test_version_choice() -> None:
    newest = shipped_versions()[-1]
    oldest = shipped_versions()[0]
    assert (1, 33) in shipped_versions()
    exact = choose_version("v1.33.4")
    assert (exact.version, exact.note) == ("1.33.0", "")
    newer = choose_version(f"{newest[0]}.{newest[1] + 5}")
    assert newer.version == f"{newest[0]}.{newest[1]}.0"
    assert f"{newest[0]}.{newest[1]}" in newer.note and "newest shipped" in newer.note
    older = choose_version("1.10")
    assert older.version == f"{oldest[0]}.{oldest[1]}.0" and "older than every shipped" in older.note
    with pytest.raises(ShipyardError):
        choose_version("latest")


def test_builtin_kinds_are_found_by_group_version_kind() -> None:
    kube = KubernetesSchemas.for_version("1.33")
    assert kube.schema("apps/v1", "Deployment") is not None
    assert kube.schema("rbac.authorization.k8s.io/v1", "RoleBinding") is not None
    # same file name, another group: a custom resource, not apps/v1
    assert kube.schema("apps.example.com/v1", "Deployment") is None
    assert kube.schema("apps/v1", "deployment") is None
    assert kube.schema("policy/v1beta1", "PodDisruptionBudget") is None
    assert kube.schema("v1", "PodSpec") is None  # a type, not a kind
    # names never become file globs or paths
    assert kube.schema("apps/v1", "Depl*") is None and kube.served_api_versions("*") == []
    assert kube.schema("../v1", "Pod") is None and kube.similar_kinds("*/v1", "Pod") == []
    assert kube.served_api_versions("HorizontalPodAutoscaler") == ["autoscaling/v1", "autoscaling/v2"]
    assert kube.similar_kinds("v1", "ConfigMapp") == ["ConfigMap"]
    assert kube.is_builtin_group("policy") and not kube.is_builtin_group("monitoring.coreos.com")


def test_validators_are_compiled_once_and_strict() -> None:
    kube = KubernetesSchemas.for_version("1.33")
    validator = kube.validator("v1", "ConfigMap")
    assert validator is kube.validator("v1", "ConfigMap")
    assert KubernetesSchemas.for_version("1.33.9") is kube
    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "datta": {}})
    assert kube.validator("example.com/v1", "Widget") is None


# --------------------------------------------------------------------------
# CRD -> JSON Schema


def crd_validator(openapi: dict[str, Any], strict: bool = True) -> Any:
    return jsonschema_rs.validator_for(to_json_schema(openapi, strict=strict))


def resource(spec: Any, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec, **extra}


SPEC_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "string", "enum": ["small", "large"]},
                "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                "note": {"type": "string", "nullable": True},
                "count": {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "mixed": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                          "properties": {"known": {"type": "integer"}}},
                "anything": {"x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "embedded": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "x-kubernetes-preserve-unknown-fields": True},
                "choice": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                           "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
            },
        },
    },
}


@pytest.mark.parametrize(
    "spec",
    [
        {"size": "small"},
        {"size": "large", "port": 8080, "note": None, "count": 1, "tags": ["a", "b"]},
        {"size": "small", "port": "http", "note": "text"},
        {"size": "small", "free": {"whatever": [1, {"x": True}]}, "mixed": {"known": 1, "other": "ok"}},
        {"size": "small", "anything": "a string", "labels": {"a": "b"}},
        {"size": "small", "embedded": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}},
        {"size": "small", "choice": {"a": "x"}},
        # a null in a field that is not nullable is pruned by the API server, not refused
        {"size": "small", "count": None, "labels": None},
        # a set's duplicates are refused after the schema, by the list-type step (SY108)
        {"size": "small", "tags": ["a", "a"]},
    ],
)
def test_crd_schema_accepts_what_the_api_server_accepts(spec: dict[str, Any]) -> None:
    assert list(crd_validator(SPEC_SCHEMA).iter_errors(resource(spec))) == []


@pytest.mark.parametrize(
    ("spec", "keyword"),
    [
        ({}, "required"),
        ({"size": "medium"}, "enum"),
        ({"size": "small", "port": 1.5}, "type"),
        ({"size": "small", "count": 0}, "exclusiveMinimum"),
        ({"size": "small", "sise": "x"}, "additionalProperties"),
        ({"size": "small", "mixed": {"known": "one"}}, "type"),
        ({"size": "small", "labels": {"a": 1}}, "type"),
        ({"size": "small", "choice": {"a": "x", "b": "y"}}, "oneOf"),
        ({"size": "small", "embedded": {"metadata": {"name": "c", "lables": {}}}}, "additionalProperties"),
    ],
)
def test_crd_schema_refuses_what_the_api_server_refuses(spec: dict[str, Any], keyword: str) -> None:
    errors = list(crd_validator(SPEC_SCHEMA).iter_errors(resource(spec)))
    assert [e.kind.name for e in errors] == [keyword]


def test_crd_metadata_is_object_meta_and_keeps_name_rules() -> None:
    schema = {"type": "object", "properties": {"metadata": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 5}}}}}
    validator = crd_validator(schema)
    assert validator.is_valid({"apiVersion": "e/v1", "kind": "W", "metadata": {"name": "short", "labels": {"a": "b"}}})
    assert not validator.is_valid({"apiVersion": "e/v1", "kind": "W", "metadata": {"name": "far-too-long"}})
    assert not validator.is_valid({"apiVersion": "e/v1", "kind": "W", "metadata": {"name": "x", "lables": {}}})
    assert not validator.is_valid({"apiVersion": "e/v1", "kind": "W", "metadata": {"name": "x", "labels": {"a": 1}}})


def test_strict_off_allows_unknown_fields_only() -> None:
    loose = crd_validator(SPEC_SCHEMA, strict=False)
    assert loose.is_valid(resource({"size": "small", "sise": "x"}, extra=1))
    assert not loose.is_valid(resource({"size": "medium"}))


def test_strip_descriptions_keeps_property_names() -> None:
    schema = {"description": "text", "properties": {"description": {"type": "string", "description": "d"},
                                                    "example": {"type": "integer"}}, "enum": [{"description": 1}]}
    assert strip_descriptions(schema) == {"properties": {"description": {"type": "string"}, "example": {"type": "integer"}},
                                          "enum": [{"description": 1}]}


def test_crd_versions_v1_and_v1beta1() -> None:
    v1 = {"spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "versions": [
        {"name": "v1", "served": True, "schema": {"openAPIV3Schema": {"type": "object"}}},
        {"name": "v1alpha1", "served": False, "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    found = versions_of_crd(v1, "crd.yaml")
    assert [(v.api_version, v.served, v.crd_name) for v in found] == [
        ("example.com/v1", True, "widgets.example.com"), ("example.com/v1alpha1", False, "widgets.example.com")]
    beta = {"spec": {"group": "example.com", "version": "v1", "names": {"kind": "Policy"},
                     "validation": {"openAPIV3Schema": {"type": "object"}}}}
    (old,) = versions_of_crd(beta, "old.yaml")
    assert (old.version, old.plural, old.schema) == ("v1", "policies", {"type": "object"})
    assert versions_of_crd({"spec": "broken"}, "x") == []
    assert [guess_plural(k) for k in ("Policy", "Ingress", "Gateway", "Mesh")] == ["policies", "ingresses", "gateways", "meshes"]


def test_run_crds_shadow_pinned_ones() -> None:
    text = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, plural: servicemonitors}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""
    own = CrdIndex.from_objects(load_text(text, "monitoring/crds.yaml").objects)
    found = own.get("monitoring.coreos.com/v1", "ServiceMonitor")
    assert found is not None and found.source == "monitoring/crds.yaml:1"
    from_pinned = CrdIndex().get("monitoring.coreos.com/v1", "ServiceMonitor")
    assert from_pinned is not None and from_pinned.source.startswith("pinned:")
    assert CrdIndex(use_pinned=False).get("monitoring.coreos.com/v1", "ServiceMonitor") is None


# --------------------------------------------------------------------------
# The pinned cache


PINNED_KINDS = {
    ("source.toolkit.fluxcd.io", "GitRepository"), ("source.toolkit.fluxcd.io", "HelmRepository"),
    ("source.toolkit.fluxcd.io", "OCIRepository"), ("helm.toolkit.fluxcd.io", "HelmRelease"),
    ("kustomize.toolkit.fluxcd.io", "Kustomization"), ("argoproj.io", "Application"), ("argoproj.io", "AppProject"),
    ("argoproj.io", "ApplicationSet"), ("monitoring.coreos.com", "ServiceMonitor"),
    ("monitoring.coreos.com", "PodMonitor"), ("monitoring.coreos.com", "PrometheusRule"),
    ("pipelines.kubeflow.org", "Pipeline"), ("pipelines.kubeflow.org", "PipelineVersion"),
}


def test_pinned_cache_covers_the_engines_and_compiles() -> None:
    versions = pinned()
    assert PINNED_KINDS <= {(g, k) for g, _, k in versions}
    assert ("pipelines.kubeflow.org", "v2beta1", "Pipeline") in versions
    index = CrdIndex()
    for crd in {v.crd_name: v for v in versions.values() if v.served}.values():
        validator, document = index.compiled(crd)
        assert validator is not None and document["properties"]["metadata"]["additionalProperties"] is False


def test_pinned_cache_provenance_and_license() -> None:
    provenance = json.loads((CACHE_DIR / PROVENANCE).read_text(encoding="utf-8"))
    listed = {entry["schema"] for entry in provenance["files"]}
    assert listed == {p.name for p in CACHE_DIR.glob("*.json") if p.name != PROVENANCE}
    for entry in provenance["files"]:
        upstream = provenance["upstreams"][entry["upstream"]]
        assert upstream["repo"] and upstream["tag"] and len(upstream["commit"]) == 40 and len(entry["blob"]) == 40
    assert provenance["license"] == "Apache-2.0"
    assert "Apache License" in (CACHE_DIR / "LICENSE").read_text(encoding="utf-8")
    assert "descriptions" in (CACHE_DIR / "NOTICE.md").read_text(encoding="utf-8") or "description" in (
        CACHE_DIR / "NOTICE.md").read_text(encoding="utf-8")


def test_git_blob_id_matches_git() -> None:
    data = b"apiVersion: v1\n"
    expected = subprocess.run(["git", "hash-object", "--stdin"], input=data, capture_output=True, check=True).stdout
    assert git_blob_id(data) == expected.decode().strip()


def test_pinned_cache_is_what_the_mirror_generates(mirror_dir: Path, tmp_path: Path) -> None:
    result = update_cache(mirror_dir / "crds", tmp_path)
    assert "PROVENANCE.json" in result.written
    for path in sorted(CACHE_DIR.iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), f"{path.name} is stale: run shipyard schemas update"
    readme = (mirror_dir / "README.md").read_text(encoding="utf-8")
    provenance = json.loads((tmp_path / PROVENANCE).read_text(encoding="utf-8"))
    for entry in provenance["files"]:
        assert entry["blob"] in readme, entry  # the blob id the mirror documents for its upstream file


def test_update_is_all_or_nothing(tmp_path: Path) -> None:
    source = tmp_path / "crds"
    (source / "unknown-project").mkdir(parents=True)
    (source / "unknown-project" / "x.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    dest = tmp_path / "out"
    with pytest.raises(ShipyardError) as info:
        update_cache(source, dest)
    assert "no upstream release is recorded" in info.value.message
    assert not dest.exists() or not any(dest.iterdir())
    with pytest.raises(ShipyardError):
        update_cache(tmp_path / "missing", dest)


def test_schemas_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "versions"]) == 0
    assert "1.33" in capsys.readouterr().out.split()
    assert main(["schemas", "update", "--from", str(tmp_path / "nope"), "--to", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "nope: no such folder" in err and "Traceback" not in err


def test_real_chart_crds_compile_and_accept_their_examples(mirror_dir: Path) -> None:
    helm = REPO / ".venv" / "bin" / "helm"
    if not helm.exists():
        pytest.skip("helm is not installed in .venv")
    chart = mirror_dir / "charts" / "seldon-core-operator-1.17.1.tgz"
    text = subprocess.run([str(helm), "template", "s", str(chart)], capture_output=True, text=True, check=True).stdout
    index = CrdIndex.from_objects(load_text(text, "chart:seldon").objects)
    crd = index.get("machinelearning.seldon.io/v1", "SeldonDeployment")
    assert crd is not None and crd.source.startswith("chart:seldon")
    validator, _ = index.compiled(crd)
    sdep = {
        "apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment", "metadata": {"name": "iris"},
        "spec": {"predictors": [{"name": "default", "replicas": 1, "graph": {
            "name": "classifier", "implementation": "SKLEARN_SERVER", "modelUri": "gs://models/iris"}}]},
    }
    assert list(validator.iter_errors(sdep)) == []
    sdep["spec"]["predictors"][0]["graph"]["modeluri"] = "typo"
    assert [e.kind.name for e in validator.iter_errors(sdep)] == ["additionalProperties"]
