"""SY1xx checks: the broken-manifest corpus, messages and hints, and the
registered checks over a validate run."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from shipyard.checks import load_all
from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.checks.schema import validate_objects
from shipyard.findings import Finding
from shipyard.load import load_file, load_text
from shipyard.objects import K8sObject
from shipyard.repo import Cluster

BROKEN = Path(__file__).resolve().parent.parent / "fixtures" / "broken"
MARKER = re.compile(r"#\s*<-\s*(SY\d{3})")
KUBE = "1.33.0"


def corpus_files() -> list[Path]:
    return sorted(BROKEN.glob("sy1*/*.yaml"))


def expected_markers(path: Path) -> Counter[tuple[str, int]]:
    expected: Counter[tuple[str, int]] = Counter()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for check_id in MARKER.findall(line):
            expected[(check_id, number)] += 1
    return expected


def line_with(path: Path, text: str) -> int:
    """The 1-based number of the first line of ``path`` containing ``text``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def schema_findings(path: Path) -> list[Finding]:
    loaded = load_file(path, path.name)
    return [*loaded.findings, *validate_objects(loaded.objects, KUBE)]


def test_every_check_has_a_broken_file() -> None:
    ids = {check for path in corpus_files() for check, _ in expected_markers(path)}
    assert ids >= {"SY101", "SY102", "SY103", "SY104", "SY105"}


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_broken_corpus_is_caught_with_id_and_line(path: Path) -> None:
    findings = schema_findings(path)
    found = Counter((f.check, f.line) for f in findings if f.check.startswith("SY1"))
    assert found == expected_markers(path), "\n".join(f"{f.line}: {f.check} {f.message}" for f in findings)
    assert all(f.file == path.name for f in findings)


def test_findings_name_the_object_and_field() -> None:
    path = BROKEN / "sy102" / "unknown-fields.yaml"
    by_line = {f.line: f for f in schema_findings(path)}
    typo = by_line[line_with(path, "imagePullPolcy")]
    assert typo.object is not None and typo.object.kind == "Deployment" and typo.object.name == "web"
    assert "spec.template.spec.containers[0].imagePullPolcy" in typo.message
    assert "did you mean imagePullPolicy?" in typo.message
    assert "kubectl explain deployment.spec.template.spec.containers" in typo.hint
    assert "did you mean nodeSelector?" in by_line[line_with(path, "nodeselector")].message
    custom = by_line[line_with(path, "sise")]
    assert custom.object is not None and custom.object.kind == "Gadget"
    assert "spec.sise" in custom.message and "did you mean size?" in custom.message
    assert "per CRD gadgets.example.com from unknown-fields.yaml:" in custom.message


def test_value_messages_are_short_and_specific() -> None:
    path = BROKEN / "sy101" / "deployment-values.yaml"
    messages = {f.line: f.message for f in schema_findings(path)}
    assert messages[line_with(path, "replicas")] == 'spec.replicas: must be integer, not string "3" (per Kubernetes 1.33)'
    assert messages[line_with(path, "busybox")].startswith("spec.template.spec.containers[1].name is required")
    assert "must be string or integer, not boolean true" in messages[line_with(path, "targetPort")]
    path = BROKEN / "sy101" / "custom-resource-values.yaml"
    custom = {f.line: f.message for f in schema_findings(path)}
    assert custom[line_with(path, "spec:  # <- SY101")].startswith("spec.size is required")
    replicas = custom[line_with(path, "replicas: 0")]
    assert "spec.replicas" in replicas and "minimum of 1" in replicas
    assert "must be integer or string, not number 1.5" in custom[line_with(path, "port: 1.5")]
    assert '"medium" is not one of: "small", "large"' in custom[line_with(path, "medium")]


def test_unknown_kind_hints_say_what_would_define_it() -> None:
    path = BROKEN / "sy105" / "unknown-kinds.yaml"
    findings = {f.line: f for f in schema_findings(path)}
    # a removed built-in apiVersion is left to SY314 (one mistake, one finding)
    assert line_with(path, "apiVersion: policy/v1beta1") not in findings
    assert "did you mean Service?" in findings[line_with(path, "apiVersion: v1")].message
    missing = findings[line_with(path, "example.com/v1")]
    assert "it would be CRD sprockets.example.com" in missing.message
    assert "shipyard schemas update" in missing.hint
    wrong = findings[line_with(path, "monitoring.coreos.com/v2")]
    assert "servicemonitors.monitoring.coreos.com" in wrong.message and "monitoring.coreos.com/v1" in wrong.message


def deployment(name: str = "web", **spec_extra: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]},
            },
            **spec_extra,
        },
    }


def objects_of(*bodies: dict, path: str = "manifests.yaml") -> list[K8sObject]:
    import yaml

    text = "---\n".join(yaml.safe_dump(body, sort_keys=False) for body in bodies)
    return load_text(text, path).objects


def test_clean_objects_give_no_findings() -> None:
    service_monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "endpoints": [{"port": "http", "interval": "30s"}]},
    }
    helm_release = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "seldon-core", "namespace": "seldon-system"},
        "spec": {
            "interval": "10m",
            "chart": {"spec": {"chart": "seldon-core-operator", "version": "1.17.1",
                               "sourceRef": {"kind": "HelmRepository", "name": "seldon"}}},
            "valuesFrom": [{"kind": "ConfigMap", "name": "seldon-core-values"}],
        },
    }
    assert validate_objects(objects_of(deployment(), service_monitor, helm_release), KUBE) == []


def test_unknown_fields_are_only_reported_when_strict() -> None:
    objects = objects_of(deployment(paused=True, replicaz=3))
    strict = validate_objects(objects, KUBE)
    assert [f.check for f in strict] == ["SY102"]
    assert validate_objects(objects, KUBE, strict=False) == []


def test_the_cluster_version_decides() -> None:
    # ValidatingAdmissionPolicy is served at admissionregistration.k8s.io/v1 from Kubernetes 1.30 on.
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "replicas"},
        "spec": {"validations": [{"expression": "object.spec.replicas <= 5"}]},
    }
    objects = objects_of(policy)
    assert validate_objects(objects, "1.30") == []
    assert [f.check for f in validate_objects(objects, "1.29")] == ["SY105"]


def test_crds_from_other_objects_and_the_pinned_cache() -> None:
    crd_text = (BROKEN / "sy101" / "custom-resource-values.yaml").read_text(encoding="utf-8").split("---\n")[0]
    crds = load_text(crd_text, "crds.yaml").objects
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": "huge"}}
    without = validate_objects(objects_of(widget), KUBE)
    assert [f.check for f in without] == ["SY105"]
    with_crd = validate_objects(objects_of(widget), KUBE, crds)
    assert [f.check for f in with_crd] == ["SY101"]


def run_checks(ctx: CheckContext) -> list[Finding]:
    registry = load_all()
    out: list[Finding] = []
    for check_id in ("SY101", "SY102", "SY104", "SY105", "SY106"):
        out.extend(registry[check_id].run(ctx))  # type: ignore[misc]
    return out


def test_registered_checks_share_one_pass_over_the_run(tmp_path: Path) -> None:
    crd_text = (BROKEN / "sy101" / "custom-resource-values.yaml").read_text(encoding="utf-8").split("---\n")[0]
    charts = RenderedTarget("clusters/dev/flux", "entrypoint", load_text(crd_text, "chart:widgets/crd.yaml").objects, KUBE)
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": "huge"}}
    bad = deployment(replicas="2")
    cluster = Cluster("future", tmp_path, "dev", "1.99.0", ("flux",))
    future = RenderedTarget("overlays/dev", "overlay", objects_of(widget, bad), "1.99.0", cluster=cluster)
    ctx = CheckContext([charts, future])
    findings = run_checks(ctx)
    assert sorted(f.check for f in findings) == ["SY101", "SY101", "SY106"]
    note = next(f for f in findings if f.check == "SY106")
    assert note.severity == "warning" and note.file == "clusters/future/cluster.yaml"
    assert "no schemas are shipped for Kubernetes 1.99" in note.message and "1.37" in note.message
    # one shared pass: a second check reads the cached results
    assert run_checks(ctx) == findings
    registry = load_all()
    assert {"SY103", "SY910", "SY911"} <= set(registry)
    assert all(registry[i].title and registry[i].rationale and registry[i].hint for i in ("SY101", "SY103", "SY105"))


def test_a_sops_encrypted_object_is_validated_without_its_sops_block() -> None:
    from shipyard.checks.schema import validate_objects
    from shipyard.load import load_text

    text = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: model-store, namespace: models}\n"
        "stringData:\n  KEY: ENC[AES256_GCM,data:Tm90UmVhbA==,iv:AAAA,tag:BBBB,type:str]\n"
        "sops:\n  mac: ENC[AES256_GCM,data:Q0NDQw==,iv:DDDD,tag:EEEE,type:str]\n  version: 3.9.0\n"
    )
    assert validate_objects(load_text(text, "secret.yaml").objects, "1.33.0", []) == []
    broken = text.replace("stringData:", "stringDatum:")
    assert [f.check for f in validate_objects(load_text(broken, "secret.yaml").objects, "1.33.0", [])] == ["SY102"]
