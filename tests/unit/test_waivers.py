"""Waivers: by path or object in shipyard.yaml, by annotation on the object,
and the built-in upstream ones; always with a reason."""

from __future__ import annotations

import textwrap
from typing import Callable
from pathlib import Path

import pytest

from shipyard.checks import load_all
from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.findings import Finding, format_json
from shipyard.load import load_text
from shipyard.repo import Repository
from shipyard.waivers import WaivedFinding, apply_waivers, glob_match, object_match
from shipyard.objects import ObjectRef

MANIFESTS = textwrap.dedent(
    """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: api
      namespace: serving
      annotations:
        shipyard.dev/waive: "SY301=vendor publishes no tags; SY310=reads the node's GPU driver logs"
    spec:
      template:
        spec:
          containers:
          - name: api
            image: vendor/api
            resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}
          volumes:
          - name: logs
            hostPath: {path: /var/log/nvidia}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: worker
      namespace: serving
      annotations:
        shipyard.dev/waive: "SY301; SY999=no such check"
    spec:
      template:
        spec:
          containers:
          - name: worker
            image: vendor/worker
            resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}
    """
)


def _run(text: str = MANIFESTS, path: str = "base/serving/deploy.yaml", target: str = "overlays/dev") -> tuple[list[Finding], dict]:
    loaded = load_text(text, path, target=target)
    ctx = CheckContext([RenderedTarget(target, "overlay", loaded.objects, "1.33.0", environment="dev")])
    findings = [f for cid, info in load_all().items() if cid.startswith("SY3") and info.run for f in info.run(ctx)]
    return findings, {o.ref: o for o in loaded.objects}


def _config(tmp_path: Path, text: str) -> tuple[dict, Callable[[tuple], int | None]]:
    file = tmp_path / "shipyard.yaml"
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    settings = Repository.load(tmp_path).settings
    return settings.data, settings.line_of


def test_annotation_waives_its_own_object_only_and_keeps_the_reason() -> None:
    findings, objects = _run()
    kept, waived = apply_waivers(findings, objects, {})
    by_check = {(w.check, w.object.name) for w in waived}
    assert by_check == {("SY301", "api"), ("SY310", "api")}
    assert {w.reason for w in waived} == {"vendor publishes no tags", "reads the node's GPU driver logs"}
    assert all(isinstance(w, WaivedFinding) and w.waived_by == "annotation shipyard.dev/waive" for w in waived)
    # The worker's SY301 is not waived: its annotation gives no reason.
    assert ("SY301", "worker") in {(f.check, f.object.name) for f in kept if f.object}


def test_annotation_without_reason_or_with_unknown_check_is_a_finding_at_the_annotation() -> None:
    findings, objects = _run()
    kept, _ = apply_waivers(findings, objects, {})
    invalid = sorted((f.line, f.message) for f in kept if f.check == "SY390")
    assert [line for line, _ in invalid] == [25, 25]
    assert "SY301 without a reason" in invalid[0][1] + invalid[1][1]
    assert "unknown check 'SY999'" in invalid[0][1] + invalid[1][1]
    assert all(f.object and f.object.name == "worker" for f in kept if f.check == "SY390")


def test_config_waiver_by_path_and_by_object(tmp_path: Path) -> None:
    config, file = _config(tmp_path, """\
        repository: {url: https://github.com/example/shipyard.git}
        waivers:
        - check: SY301
          object: Deployment/serving/worker
          reason: vendor image, pinned by the vendor's own release process
        - check: [SY31*]
          path: base/serving/**
          reason: node log reader, reviewed with platform security
        """)
    findings, objects = _run(MANIFESTS.replace("shipyard.dev/waive", "example.com/note"))
    kept, waived = apply_waivers(findings, objects, config, line_of=file)
    assert {(w.check, w.object.name, w.waived_by) for w in waived} == {
        ("SY301", "worker", "shipyard.yaml:3"),
        ("SY310", "api", "shipyard.yaml:6"),
    }
    # The api's SY301 matches neither waiver.
    assert [(f.check, f.object.name) for f in kept] == [("SY301", "api")]


def test_config_waiver_without_reason_waives_nothing_and_points_at_its_line(tmp_path: Path) -> None:
    config, file = _config(tmp_path, """\
        waivers:
        - check: SY301
          path: "**"
        - check: SY301
          path: "**"
          reason: "  "
        """)
    findings, objects = _run(MANIFESTS.replace("shipyard.dev/waive", "example.com/note"))
    kept, waived = apply_waivers(findings, objects, config, line_of=file)
    assert waived == []
    invalid = [(f.file, f.line) for f in kept if f.check == "SY390"]
    assert invalid == [("shipyard.yaml", 2), ("shipyard.yaml", 6)]
    assert sum(f.check == "SY301" for f in kept) == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- {check: SY301, path: x, reason: r, until: 2027}", "unknown key(s) until"),
        ("- {check: SY777, path: x, reason: r}", "unknown check(s) SY777"),
        ("- {check: SY301, reason: r}", "neither path nor object"),
        ("- {check: SY301, object: api, reason: r}", "not Kind/name"),
        ("- {check: SY390, path: x, reason: r}", "cannot be waived"),
        ("- {path: x, reason: r}", "names no check"),
        ("- SY301", "not a mapping"),
    ],
)
def test_malformed_config_waivers_are_reported(tmp_path: Path, entry: str, message: str) -> None:
    config, file = _config(tmp_path, f"waivers:\n{entry}\n")
    kept, waived = apply_waivers([], {}, config, line_of=file)
    assert waived == []
    ((finding),) = kept
    assert finding.check == "SY390" and message in finding.message and finding.line == 2


def test_waivers_must_be_a_list(tmp_path: Path) -> None:
    config, file = _config(tmp_path, "waivers:\n  check: SY301\n")
    (finding,) = apply_waivers([], {}, config, line_of=file)[0]
    assert finding.check == "SY390" and finding.line == 1


def test_path_globs_match_file_or_target() -> None:
    finding = Finding("SY302", "m", "chart:gpu-operator-v26.7.0/templates/x.yaml", 1, target="clusters/prod-eu/flux")
    kept, waived = apply_waivers([finding], {}, {"waivers": [{"check": "SY302", "path": "clusters/prod-*/flux", "reason": "r"}]})
    assert [w.waived_by for w in waived] == ["shipyard.yaml waivers[0]"]
    assert glob_match("models/*/deploy/*.yaml", "models/iris/deploy/sd.yaml")
    assert not glob_match("models/*.yaml", "models/iris/model.yaml")
    assert glob_match("models/**/model.yaml", "models/model.yaml")
    assert object_match("Secret/kubeflow/*", ObjectRef("v1", "Secret", "kubeflow", "mysql-secret"))
    assert not object_match("Secret/*", ObjectRef("v1", "ConfigMap", "kubeflow", "x"))


def test_builtin_upstream_waivers_cover_upstream_objects_only() -> None:
    role = """\
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: operator}
        rules:
        - {apiGroups: [example.com], resources: ["*"], verbs: [get]}
        """
    chart_findings, chart_objects = _run(textwrap.dedent(role), path="chart:example-1.0.0/templates/rbac.yaml")
    own_findings, own_objects = _run(textwrap.dedent(role), path="base/rbac/role.yaml")
    assert [f.check for f in chart_findings] == [f.check for f in own_findings] == ["SY313"]
    kept, waived = apply_waivers(chart_findings, chart_objects, {})
    assert kept == [] and "shipyard diff" in waived[0].reason
    kept, waived = apply_waivers(own_findings, own_objects, {})
    assert [f.check for f in kept] == ["SY313"] and waived == []


def test_unused_waivers_are_reported_when_asked(tmp_path: Path) -> None:
    config, file = _config(tmp_path, """\
        waivers:
        - {check: SY305, object: Secret/models/gone, reason: was the old registry token}
        - {check: SY301, object: Deployment/serving/worker, reason: vendor image}
        """)
    findings, objects = _run()
    kept, _ = apply_waivers(findings, objects, config, line_of=file)
    assert not [f for f in kept if f.check == "SY391"]
    kept, _ = apply_waivers(findings, objects, config, line_of=file, report_unused=True)
    unused = sorted((f.file, f.line, f.severity) for f in kept if f.check == "SY391")
    # Only the first config waiver is stale; the api's annotation waivers are both used.
    assert unused == [("shipyard.yaml", 2, "warning")]
    # An annotation waiver for a check that reports nothing on its object is stale too.
    text = MANIFESTS.replace("SY310=reads", "SY309=reads")
    findings, objects = _run(text)
    kept, _ = apply_waivers(findings, objects, {}, report_unused=True)
    assert [(f.object.name, f.line) for f in kept if f.check == "SY391"] == [("api", 7)]


def test_waived_findings_serialise_with_their_reason() -> None:
    findings, objects = _run()
    _, waived = apply_waivers(findings, objects, {})
    text = format_json(waived)
    assert '"reason": "vendor publishes no tags"' in text and '"waived_by"' in text
