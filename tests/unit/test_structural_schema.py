"""What the API server does around schema validation, offline: nulls
pruned and defaults applied before it (shipyard.schemas.structural.prepare),
embedded resources and list-type sets and maps after it. On the real
upstream CRDs of the mirror (Flux, prometheus-operator) and Kubernetes'
own list maps, with objects that must pass (this repository's) and broken
ones refused with the right id at the right line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipyard.checks.schema import validate_objects
from shipyard.findings import Finding
from shipyard.load import load_file, load_text
from shipyard.objects import K8sObject
from shipyard.schemas import structural
from shipyard.schemas.crds import versions_of_crd
from shipyard.schemas.kubernetes import KubernetesSchemas, schema_root
from shipyard.schemas.list_key_defaults import DATA_FILE, go_defaults, key_defaults, list_map_keys

KUBE = "1.34.0"
REPO = Path(__file__).resolve().parents[2]


def mirror_crds(mirror: Path, relative: str) -> list[K8sObject]:
    path = mirror / "crds" / relative
    return load_file(path, f"mirror/{relative}").objects


@pytest.fixture(scope="module")
def helmrelease_crd(mirror_dir: Path) -> list[K8sObject]:
    return mirror_crds(mirror_dir, "flux/helm-controller/helm.toolkit.fluxcd.io_helmreleases.yaml")


def check(text: str, crds: list[K8sObject] = (), *, kube: str = KUBE) -> list[Finding]:  # type: ignore[assignment]
    return validate_objects(load_text(text, "manifests.yaml").objects, kube, list(crds))


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def found(findings: list[Finding], check_id: str | None = None) -> list[tuple[str, int]]:
    return [(f.check, f.line) for f in findings if check_id is None or f.check == check_id]


HELMRELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: seldon-core
  namespace: seldon-system
spec:
  interval: 10m
  chart:
    spec:
      chart: seldon-core-operator
      version: 1.17.1
      sourceRef:
        kind: HelmRepository
        name: seldon
"""


# --------------------------------------------------------------------------
# Nulls: dropped before validation; a required one is missing.


def test_a_null_required_field_of_a_custom_resource_is_missing(helmrelease_crd: list[K8sObject]) -> None:
    text = HELMRELEASE.replace("chart: seldon-core-operator", "chart: null")
    findings = check(text, helmrelease_crd)
    assert found(findings, "SY101") == [("SY101", line_of(text, "chart: null"))]
    message = next(f.message for f in findings if f.check == "SY101")
    assert message.startswith("spec.chart.spec.chart is required") and "Required value" in message
    # The rules are not run on an object with a blocking error, as the API server does not.
    assert [f.severity for f in findings if f.check == "SY110"] == ["warning"]


def test_a_null_required_field_of_a_builtin_kind_is_missing_not_a_type_error() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: models}
spec:
  containers:
  - name: null
    image: nginx:1.27
"""
    findings = check(text)
    assert found(findings) == [("SY101", line_of(text, "name: null"))]
    assert "spec.containers[0].name is required" in findings[0].message
    assert "must be" not in findings[0].message


def test_a_null_in_an_optional_field_is_dropped(helmrelease_crd: list[K8sObject]) -> None:
    custom = HELMRELEASE + "  suspend: null\n  install: {remediation: null}\n  values: {replicas: null}\n"
    assert check(custom, helmrelease_crd) == []
    builtin = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: models, labels: null}
spec:
  nodeSelector: null
  containers:
  - name: main
    image: nginx:1.27
    imagePullPolicy: null
    ports: null
"""
    assert check(builtin) == []


GADGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size, owner]
            properties:
              size:
                type: string
                default: small
              owner:
                type: string
                nullable: true
              note:
                type: string
              template:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
              templates:
                type: array
                items:
                  type: object
                  x-kubernetes-embedded-resource: true
                  x-kubernetes-preserve-unknown-fields: true
"""


def gadget(spec: str) -> str:
    return f"apiVersion: example.com/v1\nkind: Gadget\nmetadata: {{name: g, namespace: models}}\nspec:\n{spec}"


def test_nullable_keeps_null_and_a_default_replaces_a_null() -> None:
    crds = load_text(GADGET_CRD, "crd.yaml").objects
    # owner is required and nullable: null is a value; size is required with a default: null becomes it.
    assert check(gadget("  owner: null\n  size: null\n"), crds) == []
    text = gadget("  size: large\n  note: null\n")
    findings = check(text, crds)
    assert [(f.check, f.message.split(" (")[0]) for f in findings] == [("SY101", "spec.owner is required")]


def test_prepare_prunes_and_defaults_without_touching_the_body() -> None:
    crd = load_text(GADGET_CRD, "crd.yaml").objects[0]
    root = structural.from_crd(versions_of_crd(crd.body, "crd.yaml")[0].schema or {})
    body = {"spec": {"owner": None, "note": None, "template": {"kind": "ConfigMap", "data": None}}}
    before = json.dumps(body)
    prepared = structural.prepare(body, root)
    assert json.dumps(body) == before
    assert prepared.body == {"spec": {"owner": None, "size": "small",
                                      "template": {"kind": "ConfigMap", "data": None}}}
    assert prepared.nulls == {("spec", "note")}
    clean = {"spec": {"owner": "me", "size": "large"}}
    assert structural.prepare(clean, root).body is clean


# --------------------------------------------------------------------------
# Defaults: applied before validation.


def test_a_required_field_with_a_default_is_satisfied(helmrelease_crd: list[K8sObject]) -> None:
    """Flux's HelmRelease spec.chart.spec.verify.provider is required and
    defaults to cosign: verify with only a secretRef is valid."""
    text = HELMRELEASE + "      verify:\n        secretRef:\n          name: cosign-public-keys\n"
    assert check(text, helmrelease_crd) == []
    crd = helmrelease_crd[0]
    root = structural.from_crd(next(v for v in versions_of_crd(crd.body, "x") if v.version == "v2").schema or {})
    body = load_text(text, "x.yaml").objects[0].body
    prepared = structural.prepare(body, root).body
    assert prepared["spec"]["chart"]["spec"]["verify"] == {"provider": "cosign", "secretRef": {"name": "cosign-public-keys"}}
    assert "provider" not in body["spec"]["chart"]["spec"]["verify"]
    assert prepared["spec"]["chart"]["spec"]["reconcileStrategy"] == "ChartVersion"


def test_a_value_the_schema_refuses_is_still_refused_after_defaults(helmrelease_crd: list[K8sObject]) -> None:
    text = HELMRELEASE + "      verify:\n        provider: gpg\n        secretRef: {name: keys}\n"
    findings = check(text, helmrelease_crd)
    assert found(findings, "SY101") == [("SY101", line_of(text, "provider: gpg"))]


# --------------------------------------------------------------------------
# List-type maps and sets (SY108).

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: models}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.0.0
        ports:
        - containerPort: 8080
        - containerPort: 8080EXTRA
"""


def deployment_with(extra: str) -> str:
    return DEPLOYMENT.replace("EXTRA", extra)


def test_two_container_ports_without_protocol_are_one_key() -> None:
    text = deployment_with("")
    findings = check(text)
    assert found(findings) == [("SY108", len(text.splitlines()))]
    message = findings[0].message
    assert "spec.template.spec.containers[0].ports[1]" in message
    assert 'containerPort=8080, protocol="TCP" (its default)' in message and "[0] has the same" in message
    assert check(deployment_with("\n          protocol: UDP")) == []
    assert found(check(deployment_with("\n          protocol: TCP")), "SY108") != []
    assert found(check(deployment_with("\n          protocol: null")), "SY108") != []  # null is absent


def test_duplicate_names_in_builtin_list_maps() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: models
  finalizers: [example.com/cleanup, example.com/cleanup]
spec:
  containers:
  - name: main
    image: nginx:1.27
    volumeMounts:
    - {name: a, mountPath: /data}
    - {name: b, mountPath: /data}
  - name: main
    image: nginx:1.27
  volumes:
  - {name: a, emptyDir: {}}
  - {name: b, emptyDir: {}}
"""
    lines = [f.line for f in check(text) if f.check == "SY108"]
    assert sorted(lines) == [6, 13, 14]


def test_a_list_map_of_a_custom_resource(mirror_dir: Path) -> None:
    crds = mirror_crds(mirror_dir, "prometheus-operator/monitoring.coreos.com_prometheusrules.yaml")
    text = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: iris, namespace: models}
spec:
  groups:
  - name: iris
    rules: [{alert: A, expr: up == 0}]
  - name: other
    rules: [{alert: B, expr: up == 0}]
  - name: iris
    rules: [{alert: C, expr: up == 0}]
  - name: iris
    rules: [{alert: D, expr: up == 0}]
"""
    findings = check(text, crds)
    # as listtype/validation.go: the second entry of a key is reported, once
    assert found(findings) == [("SY108", 10)]
    assert "per CRD prometheusrules.monitoring.coreos.com from mirror/" in findings[0].message


def test_sets_compare_values_as_go_does() -> None:
    root = structural.Node()
    root.type = "array"
    root.list_type = "set"
    root.items = structural.Node()
    structural._finish([root])
    assert structural.list_problems([1, 1.0, True, "1"], root) == []
    assert [p.path for p in structural.list_problems([{"a": 1}, {"a": 1}, {"a": 2}], root)] == [(1,)]


def test_the_repositorys_flux_objects_pass(mirror_dir: Path) -> None:
    crds = [
        *mirror_crds(mirror_dir, "flux/kustomize-controller/kustomize.toolkit.fluxcd.io_kustomizations.yaml"),
        *mirror_crds(mirror_dir, "flux/source-controller/source.toolkit.fluxcd.io_gitrepositories.yaml"),
        *mirror_crds(mirror_dir, "flux/source-controller/source.toolkit.fluxcd.io_helmrepositories.yaml"),
        *mirror_crds(mirror_dir, "flux/helm-controller/helm.toolkit.fluxcd.io_helmreleases.yaml"),
    ]
    objects: list[K8sObject] = []
    for path in sorted([*REPO.glob("clusters/*/flux/*.yaml"), *REPO.glob("base/*/helm*.yaml")]):
        if path.name != "kustomization.yaml":
            objects.extend(load_file(path, path.relative_to(REPO).as_posix()).objects)
    assert {o.kind for o in objects} >= {"GitRepository", "Kustomization", "HelmRelease", "HelmRepository"}
    assert validate_objects(objects, KUBE, crds) == []


# --------------------------------------------------------------------------
# Embedded resources.


def test_embedded_resources_need_apiversion_kind_and_valid_metadata() -> None:
    crds = load_text(GADGET_CRD, "crd.yaml").objects
    text = gadget("""\
  owner: me
  template:
    metadata:
      name: inner
  templates:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: Not_A_Name
      labels: {"bad key!": x}
  - apiVersion: a/b/c
    kind: 9lives
  - apiVersion: v1
    kind: ConfigMap
""")
    findings = check(text, crds)
    got = sorted((f.line, f.message.split(" (")[0]) for f in findings if f.check == "SY101")
    template = line_of(text, "  template:")
    assert (template, "spec.template.apiVersion: apiVersion is required: the object is an embedded resource") in got
    assert (template, "spec.template.kind: kind is required: the object is an embedded resource") in got
    assert any(line == line_of(text, "Not_A_Name") and "metadata.name" in m for line, m in got)
    assert any(line == line_of(text, "bad key!") and "metadata.labels" in m for line, m in got)
    assert (line_of(text, "a/b/c"), "spec.templates[1].apiVersion: unexpected GroupVersion string: a/b/c") in got
    assert any(line == line_of(text, "9lives") and "may have mixed case" in m and "DNS-1035" in m for line, m in got)
    assert not [f for f in findings if f.check == "SY101" and f.line > line_of(text, "9lives")]


# --------------------------------------------------------------------------
# Robustness and the shipped data.


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": [1, 2]},
    {"type": "object", "properties": {"a": "not a schema", "b": {"items": 3, "default": None}}},
    {"type": "object", "x-kubernetes-validations": "rule", "properties": {"l": {
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": "name"}}},
    {"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "map",
                                            "items": {"type": "object"}}}},
    {"type": "object", "allOf": "x", "x-kubernetes-embedded-resource": True},
])
def test_a_malformed_schema_never_raises(schema: dict[str, Any]) -> None:
    root = structural.from_crd(schema)
    for body in ({}, {"a": None, "b": [None, 1], "l": [{"name": 1}, {"name": 1}, 3]}, {"l": [None, None]}, []):
        structural.prepare(body, root)
        structural.list_problems(body, root)
        structural.embedded_problems(body, root, None)


def test_list_key_defaults_name_list_map_keys_of_the_shipped_schemas() -> None:
    """The data file is generated (shipyard.schemas.list_key_defaults); every
    entry must still be a key field of a list-type map in the schema set it
    was made from, and the built-in structural views must carry it."""
    data = json.loads((REPO / "tools" / "shipyard" / "data" / DATA_FILE).read_text(encoding="utf-8"))
    assert data["source"]["repository"] == "kubernetes/api" and data["source"]["tag"].startswith("v0.")
    definitions = json.loads((schema_root() / data["source"]["keys_from"].split()[-1].split("/")[0]
                              / "_definitions.json").read_text(encoding="utf-8"))["$defs"]
    keys = list_map_keys(definitions)
    table = key_defaults()
    assert table == data["defaults"] and table["io.k8s.api.core.v1.ContainerPort"] == {"protocol": "TCP"}
    for name, fields in table.items():
        assert set(fields) <= keys[name], name
    pod = KubernetesSchemas.for_version(KUBE).structural("v1", "Pod")
    assert pod is not None
    ports = pod.properties["spec"].properties["containers"].items.properties["ports"]  # type: ignore[union-attr]
    assert ports.list_type == "map" and ports.map_keys == ("containerPort", "protocol")
    assert ports.items is not None and ports.items.properties["protocol"].default == "TCP"


def test_the_generator_reads_go_default_markers() -> None:
    source = '''
const (
\tProtocolTCP Protocol = "TCP"
)

type ContainerPort struct {
\t// Number of port.
\tContainerPort int32 `json:"containerPort" protobuf:"varint,3,opt,name=containerPort"`
\t// +optional
\t// +default="TCP"
\tProtocol Protocol `json:"protocol,omitempty" protobuf:"bytes,4,opt,name=protocol"`
\t// +default=ref(ProtocolTCP)
\tOther Protocol `json:"other,omitempty"`
}
'''
    structs, consts = go_defaults(iter([source]))
    assert structs == {"ContainerPort": {"protocol": '"TCP"', "other": "ref(ProtocolTCP)"}}
    assert consts == {"ProtocolTCP": "TCP"}
