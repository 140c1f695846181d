"""CRD validation rules (x-kubernetes-validations) as the API server
evaluates them on create: the real rules of the Flux CRDs in the mirror,
Kubernetes' value mapping (int, double, absent fields, int-or-string,
escaped names), transition rules, messages, field paths, and the rules this
checker cannot judge (SY110, never a silent pass)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.checks.schema import validate_objects
from shipyard.findings import Finding
from shipyard.load import load_file, load_text
from shipyard.objects import K8sObject
from shipyard.schemas import cel, structural

KUBE = "1.34.0"


def mirror_crds(mirror: Path, *relative: str) -> list[K8sObject]:
    out: list[K8sObject] = []
    for rel in relative:
        out.extend(load_file(mirror / "crds" / rel, f"mirror/{rel}").objects)
    return out


@pytest.fixture(scope="module")
def flux(mirror_dir: Path) -> list[K8sObject]:
    return mirror_crds(
        mirror_dir,
        "flux/helm-controller/helm.toolkit.fluxcd.io_helmreleases.yaml",
        "flux/kustomize-controller/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
        "flux/source-controller/source.toolkit.fluxcd.io_gitrepositories.yaml",
        "flux/source-controller/source.toolkit.fluxcd.io_helmcharts.yaml",
        "flux/source-controller/source.toolkit.fluxcd.io_buckets.yaml",
        "flux/source-controller/source.toolkit.fluxcd.io_ocirepositories.yaml",
    )


def check(text: str, crds: list[K8sObject]) -> list[Finding]:
    return validate_objects(load_text(text, "manifests.yaml").objects, KUBE, crds)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def rules_of(findings: list[Finding]) -> list[tuple[str, int, str]]:
    return [(f.check, f.line, f.message.split(" (CEL rule")[0]) for f in findings]


# --------------------------------------------------------------------------
# The Flux rules.

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: seldon-core
  namespace: seldon-system
spec:
  interval: 10m
"""
CHART = """\
  chart:
    spec:
      chart: seldon-core-operator
      sourceRef: {kind: HelmRepository, name: seldon}
"""
CHART_REF = "  chartRef: {kind: OCIRepository, name: seldon-core}\n"


def test_helmrelease_needs_chart_or_chart_ref_not_both(flux: list[K8sObject]) -> None:
    assert check(RELEASE + CHART, flux) == []
    assert check(RELEASE + CHART_REF, flux) == []
    for text in (RELEASE + CHART + CHART_REF, RELEASE):
        findings = check(text, flux)
        assert rules_of(findings) == [("SY109", line_of(text, "spec:"), "spec: either chart or chartRef must be set")]
        assert "openAPIV3Schema.properties.spec" in findings[0].message
        assert "per CRD helmreleases.helm.toolkit.fluxcd.io from mirror/" in findings[0].message


def test_helmrelease_strategy_and_kubeconfig_rules(flux: list[K8sObject]) -> None:
    text = RELEASE + CHART + """\
  install:
    strategy: {name: RemediateOnFailure, retryInterval: 5m}
  upgrade:
    strategy: {name: RetryOnFailure, retryInterval: 5m}
  kubeConfig:
    configMapRef: {name: remote}
    secretRef: {name: remote}
"""
    assert rules_of(check(text, flux)) == [
        ("SY109", line_of(text, "strategy: {name: Remediate"),
         "spec.install.strategy: .retryInterval cannot be set when .name is 'RemediateOnFailure'"),
        ("SY109", line_of(text, "kubeConfig:"),
         "spec.kubeConfig: exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified"),
    ]


def test_kustomization_gitrepository_and_helmchart_rules(flux: list[K8sObject]) -> None:
    kustomization = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: remote, namespace: flux-system}
spec:
  interval: 10m
  prune: true
  sourceRef: {kind: GitRepository, name: shipyard}
  kubeConfig: {}
"""
    assert rules_of(check(kustomization, flux)) == [
        ("SY109", 8, "spec.kubeConfig: exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef"
                     " must be specified")]
    assert check(kustomization.replace("{}", "{secretRef: {name: remote}}"), flux) == []
    git = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: shipyard, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/example/shipyard.git
  serviceAccountName: reader
"""
    assert [f.check for f in check(git, flux)] == ["SY109"]
    assert check(git + "  provider: azure\n", flux) == []
    chart = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: c, namespace: flux-system}
spec:
  interval: 10m
  chart: ./chart
  sourceRef: {kind: GitRepository, name: shipyard}
"""
    assert check(chart, flux) == []
    assert [f.check for f in check(chart + "  verify: {provider: cosign}\n", flux)] == ["SY109"]


def test_bucket_rules_guard_with_has(flux: list[K8sObject]) -> None:
    bucket = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {name: models, namespace: flux-system}
spec:
  interval: 10m
  bucketName: models
  endpoint: minio.example.com
"""
    assert check(bucket, flux) == []  # provider defaults to generic; no sts: every guarded rule holds
    sts = bucket + "  provider: aws\n  sts: {provider: ldap, endpoint: https://sts.example.com}\n"
    assert rules_of(check(sts, flux)) == [
        ("SY109", 4, "spec: 'aws' is the only supported STS provider for the 'aws' Bucket provider")]


def test_the_repositorys_own_releases_pass(flux: list[K8sObject], repo_root: Path) -> None:
    objects: list[K8sObject] = []
    for path in sorted(repo_root.glob("base/*/helmrelease.yaml")):
        objects.extend(load_file(path, path.relative_to(repo_root).as_posix()).objects)
    assert objects
    assert validate_objects(objects, KUBE, flux) == []


# --------------------------------------------------------------------------
# Kubernetes' typing of `self`, on a CRD written for it.


def widget_crd(spec_schema: dict[str, Any], *, root_rules: list[dict[str, Any]] | None = None) -> list[K8sObject]:
    schema: dict[str, Any] = {"type": "object", "properties": {"spec": spec_schema}}
    if root_rules:
        schema["x-kubernetes-validations"] = root_rules
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": schema}}]},
    }
    return load_text(yaml.safe_dump(crd), "widgets.crd.yaml").objects


def widget(spec: dict[str, Any], name: str = "w") -> str:
    return yaml.safe_dump({"apiVersion": "example.com/v1", "kind": "Widget",
                           "metadata": {"name": name, "namespace": "models", "labels": {"team": "ml"}},
                           "spec": spec}, sort_keys=False)


def rule(expression: str, **extra: Any) -> dict[str, Any]:
    return {"rule": expression, **extra}


TYPED = {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer"},
        "ratio": {"type": "number"},
        "port": {"x-kubernetes-int-or-string": True},
        "enabled": {"type": "boolean"},
        "name": {"type": "string", "nullable": True},
        "x-y": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "raw": {"x-kubernetes-preserve-unknown-fields": True},
        "data": {"type": "string", "format": "byte"},
    },
}


@pytest.mark.parametrize("expression", [
    "self.replicas == 3 && type(self.replicas) == int",
    "type(self.ratio) == double && self.ratio == 2.0 && self.ratio / 4.0 == 0.5",
    "type(self.port) == string ? self.port.endsWith('%') : self.port < 10",
    "!has(self.enabled) && !has(self.name)",  # absent, and null: both absent
    "self.x__dash__y == 'a' && self.__namespace__ == 'ns'",
    "self.labels.all(k, self.labels[k].size() > 0) && 'team' in self.labels",
    "!has(self.values.replicas) && self.values.size() == 0",  # unknown fields are invisible
    "self.raw.anything == [1, 2]",  # ... but a value without a type is kept whole
    "self.data == b'hello'",
    "!has(self.unknown)",
])
def test_self_is_typed_as_kubernetes_types_it(expression: str) -> None:
    crds = widget_crd({**TYPED, "x-kubernetes-validations": [rule(expression)]})
    spec = {"replicas": 3, "ratio": 2, "port": "50%", "name": None, "x-y": "a", "namespace": "ns",
            "labels": {"team": "ml"}, "values": {"replicas": 2}, "raw": {"anything": [1, 2]}, "data": "aGVsbG8="}
    assert check(widget(spec), crds) == []


def test_the_resource_root_sees_apiversion_kind_and_name_only() -> None:
    crds = widget_crd(TYPED, root_rules=[
        rule("self.apiVersion == 'example.com/v1' && self.kind == 'Widget' && self.metadata.name.startsWith('w')"),
        rule("!has(self.metadata.labels)"),
    ])
    assert check(widget({}), crds) == []
    assert rules_of(check(widget({}, name="x"), crds)) == [("SY109", 1, "(document): failed rule: self.apiVersion =="
                                                           " 'example.com/v1' && self.kind == 'Widget' &&"
                                                           " self.metadata.name.startsWith('w')")]


def test_transition_rules_are_skipped_on_create_unless_old_self_is_optional() -> None:
    crds = widget_crd({**TYPED, "x-kubernetes-validations": [
        rule("self.replicas == oldSelf.replicas", message="replicas is immutable"),
        rule("!oldSelf.hasValue() || self.replicas >= oldSelf.value().replicas", optionalOldSelf=True),
        rule("oldSelf.hasValue()", optionalOldSelf=True, message="only updates"),
        rule("'oldSelf' != 'x'"),
    ]})
    text = widget({"replicas": 1})
    assert rules_of(check(text, crds)) == [("SY109", line_of(text, "spec:"), "spec: only updates")]


def test_message_expression_field_path_and_reason() -> None:
    crds = widget_crd({**TYPED, "x-kubernetes-validations": [
        rule("self.replicas <= 5", messageExpression="'at most 5 replicas, not ' + string(self.replicas)",
             fieldPath=".replicas", reason="FieldValueForbidden"),
        rule("self.ratio < 1.0", message="ratio below one", messageExpression="'two\\nlines'"),
        rule("self.enabled", message="enable it", fieldPath=".nowhere"),
        rule("self.labels.size() > 1", fieldPath="['labels']", reason="FieldValueRequired"),
    ]})
    text = widget({"replicas": 7, "ratio": 2, "enabled": False, "labels": {"a": "b"}})
    assert rules_of(check(text, crds)) == [
        ("SY109", line_of(text, "replicas: 7"), "spec.replicas: Forbidden: at most 5 replicas, not 7"),
        ("SY109", line_of(text, "spec:"), "spec: ratio below one"),
        ("SY109", line_of(text, "spec:"), "spec: enable it"),
        ("SY109", len(text.splitlines()) - 1, "spec.labels: Required value: failed rule: self.labels.size() > 1"),
    ]


def test_a_runtime_error_refuses_the_object_like_the_api_server() -> None:
    crds = widget_crd({**TYPED, "x-kubernetes-validations": [rule("self.labels.owner == 'me'", message="owned")]})
    text = widget({"labels": {"team": "ml"}})
    assert rules_of(check(text, crds)) == [
        ("SY109", line_of(text, "spec:"), "spec: no such key: owner evaluating rule: owned")]


@pytest.mark.parametrize("expression, allowed, refused", [
    ("isURL(self.url) && url(self.url).getScheme() in ['http', 'https']", "https://jwks.example.com/keys", "ftp://x"),
    ("url(self.url).getHostname() == 'example.com' && url(self.url).getPort() == '8443'",
     "https://example.com:8443/a", "https://example.org/a"),
    ("isURL(self.url) ? url(self.url).getScheme() in ['', 'oci'] : isURL('http://' + self.url)",
     "oci://ghcr.io/example/filter:1.0", "ftp://x"),
    ("self.url.matches('^[a-z]+$') && self.url.find('[0-9]+') == ''", "abc", "abc1"),
    ("self.url.lowerAscii().split('-').size() == 2 && self.url.substring(0, 1) == 'a'", "a-B", "a-b-c"),
    ("quantity(self.url).isLessThan(quantity('1Gi')) && isQuantity(self.url)", "512Mi", "2Gi"),
    ("quantity(self.url).add(quantity('500m')).compareTo(quantity('1')) == 0", "500m", "1"),
    ("self.items.isSorted() && self.items.max() < 10 && self.items.sum() == 6", "x", "y"),
    ("sets.contains(['a', 'b'], self.url.split(','))", "a,b", "a,c"),
    ("self.items.distinct() == self.items && lists.range(3).size() == 3", "x", "y"),
])
def test_kubernetes_libraries(expression: str, allowed: str, refused: str) -> None:
    schema = {"type": "object", "properties": {"url": {"type": "string"}, "items": {"type": "array", "items": {
        "type": "integer"}}}, "x-kubernetes-validations": [rule(expression)]}
    crds = widget_crd(schema)
    items_ok, items_bad = ([1, 2, 3], [3, 2, 1, 1]) if "items" in expression else ([], [])
    assert check(widget({"url": allowed, "items": items_ok}), crds) == []
    assert [f.check for f in check(widget({"url": refused, "items": items_bad}), crds)] == ["SY109"]


@pytest.mark.parametrize("expression, why", [
    ("isIP(self.url)", "undeclared reference to 'isIP'"),
    ("self.labels.all(k, v, v.size() > 0)", "undeclared reference"),
    ("self.url.size(", "Syntax error"),
    ("self.replicas + 1", "int, not a bool"),
    ("[1, 2].indexOf(1) == 0", "no matching overload"),
])
def test_a_rule_that_cannot_be_judged_is_reported_not_passed(expression: str, why: str) -> None:
    crds = widget_crd({**TYPED, "properties": {**TYPED["properties"], "url": {"type": "string"}},
                       "x-kubernetes-validations": [rule(expression), rule("self.replicas > 100", message="big")]})
    findings = check(widget({"url": "10.0.0.1", "replicas": 1, "labels": {"a": "b"}}), crds)
    assert [(f.check, f.severity) for f in findings] == [("SY110", "warning"), ("SY109", "error")]
    assert why.lower() in findings[0].message.lower() and "rule not evaluated" in findings[0].message


def test_a_malformed_rule_entry_is_a_finding_not_a_crash() -> None:
    crds = widget_crd({**TYPED, "x-kubernetes-validations": [{"rule": 5}, {"message": "no rule"}, "text",
                                                             {"rule": "   "}]})
    findings = check(widget({"replicas": 1}), crds)
    assert [f.check for f in findings] == ["SY110", "SY110"]  # the rule 5 and the rule missing; "   " is empty
    assert all("not a string" in f.message for f in findings)


def test_date_time_and_duration_values() -> None:
    schema = {"type": "object", "properties": {
        "at": {"type": "string", "format": "date-time",
               "x-kubernetes-validations": [rule("self > timestamp('2020-01-01T00:00:00Z')")]},
        "every": {"type": "string", "format": "duration",
                  "x-kubernetes-validations": [rule("self >= duration('1m')")]},
        "window": {"type": "object", "properties": {"start": {"type": "string", "format": "date-time"}},
                   "x-kubernetes-validations": [rule("self.start > timestamp('2020-01-01T00:00:00Z')")]},
    }}
    crds = widget_crd(schema)
    assert check(widget({"at": "2024-05-01T10:00:00Z", "every": "1h30m"}), crds) == []
    assert [f.check for f in check(widget({"at": "2019-05-01T10:00:00Z", "every": "30s"}), crds)] == ["SY109"] * 2
    nested = check(widget({"window": {"start": "2024-05-01T10:00:00Z"}}), crds)
    assert [(f.check, f.severity) for f in nested] == [("SY110", "warning")]
    assert "date-time" in nested[0].message


def test_rules_in_items_additional_properties_and_all_of() -> None:
    schema = {"type": "object", "properties": {
        "ports": {"type": "array", "items": {"type": "object", "properties": {"number": {"type": "integer"}},
                                             "x-kubernetes-validations": [rule("self.number > 0")]},
                  "x-kubernetes-validations": [rule("self.all(a, self.exists_one(b, a.number == b.number))",
                                                    message="port numbers must be unique")]},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "x-kubernetes-validations": [
            rule("!self.contains('*')")]}},
    }, "allOf": [{"x-kubernetes-validations": [rule("has(self.ports)", message="ports needed")]}]}
    crds = widget_crd(schema)
    assert check(widget({"ports": [{"number": 1}, {"number": 2}], "labels": {"a": "b"}}), crds) == []
    text = widget({"ports": [{"number": 1}, {"number": 1}, {"number": 0}], "labels": {"a": "b*"}})
    assert sorted((f.check, f.message.split(" (CEL")[0]) for f in check(text, crds)) == [
        ("SY109", "spec.labels.a: failed rule: !self.contains('*')"),
        ("SY109", "spec.ports: port numbers must be unique"),
        ("SY109", "spec.ports[2]: failed rule: self.number > 0"),
    ]
    assert [f.message.split(" (CEL")[0] for f in check(widget({"labels": {}}), crds)] == ["spec: ports needed"]


def test_rules_are_compiled_once_per_schema_node(monkeypatch: pytest.MonkeyPatch) -> None:
    crds = widget_crd({**TYPED, "x-kubernetes-validations": [rule("self.replicas < 5"), rule("has(self.ratio)")]})
    calls: list[str] = []
    real = cel._compile

    def counting(raw: dict[str, Any], node: structural.Node) -> cel.CompiledRule:
        calls.append(raw["rule"])
        return real(raw, node)

    monkeypatch.setattr(cel, "_compile", counting)
    text = "---\n".join(widget({"replicas": i, "ratio": 1}, name=f"w{i}") for i in range(50))
    findings = validate_objects(load_text(text, "many.yaml").objects, KUBE, crds)
    assert len(findings) == 45 and {f.check for f in findings} == {"SY109"}
    findings = validate_objects(load_text(text, "many.yaml").objects, KUBE, crds)
    assert len(findings) == 45
    assert sorted(calls) == ["has(self.ratio)", "self.replicas < 5"]


def test_old_self_is_replaced_only_where_it_is_the_variable() -> None:
    source = "oldSelf.hasValue() && self.oldSelf == 'oldSelf' && r'oldSelf' != \"\"\"oldSelf\"\"\" && oldSelf.?x"
    assert cel._old_self_as_none(source) == (
        "optional.none().hasValue() && self.oldSelf == 'oldSelf' && r'oldSelf' != \"\"\"oldSelf\"\"\""
        " && optional.none().?x")


def test_escaping_follows_kubernetes() -> None:
    assert cel.escape("namespace") == "__namespace__"
    assert cel.escape("x-y.z/w") == "x__dash__y__dot__z__slash__w"
    assert cel.escape("a__b") == "a__underscores__b"
    assert cel.escape("1st") is None and cel.escape("a b") is None


def test_upstream_flux_examples_pass_their_rules(flux: list[K8sObject], repo_root: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The samples and test data of the pinned Flux controllers, and the
    examples of their docs (tests/fixtures/upstream): every rule is evaluated
    on them and holds."""
    evaluated: list[str] = []
    real = cel._evaluate_node

    def counting(value: Any, rules: structural.Node, *args: Any) -> None:
        evaluated.extend(str(r.get("rule")) for r in rules.rules)
        real(value, rules, *args)

    monkeypatch.setattr(cel, "_evaluate_node", counting)
    objects: list[K8sObject] = []
    upstream = repo_root / "tests" / "fixtures" / "upstream"
    for path in sorted(upstream.glob("flux*/**/*.yaml")):
        loaded = load_file(path, path.relative_to(upstream).as_posix())
        objects.extend(o for o in loaded.objects if o.group.endswith(".toolkit.fluxcd.io"))
    assert len(objects) > 20
    assert validate_objects(objects, KUBE, flux) == []
    assert "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))" in evaluated
