"""Load + schema + strict validation throughput, against kubernetes-validate.

Generates a deterministic corpus of typical objects (Deployments, Services,
ConfigMaps, SeldonDeployments, ServiceMonitors, RBAC, HPAs, PDBs, ...) as
rendered YAML streams of 100 documents, then, pinned to one CPU core:

- runs the whole check pipeline end to end, in one thread: ``load_text`` (rapidyaml or
  libyaml parse, duplicate-key detection) then ``validate_objects`` (Kubernetes schema,
  CRD schema, unknown fields), and prints objects per second, cold (first
  pass, schemas compiled on the way) and warm (best of the repeats).
  Rates are per CPU-second of this process (``time.process_time``), so
  other work on a shared machine does not count against them; the wall
  clock rate is printed beside them;
- runs ``kubernetes_validate.validate(..., strict=True)`` after
  ``yaml.safe_load_all`` (what its command line does) on an evenly spread
  sample of the same corpus (it re-reads its schema files on every call, so
  the whole corpus would take minutes), and prints its rate and the ratio.

The SeldonDeployment CRD comes from the seldon-core-operator chart in the
mirror, rendered with the real helm; ServiceMonitors use the pinned CRD cache.
Prints figures; it is not a test.

Run: SHIPYARD_MIRROR=../shared/mirror .venv/bin/python benchmarks/check_pipeline.py [--objects 10000]

(benchmarks/parse_10k.py compares the whole of ``shipyard validate FILE``,
every check on, with a bare PyYAML parse and kubernetes-validate.)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from shipyard.checks.schema import validate_objects
from shipyard.load import load_text
from shipyard.schemas.crds import CrdIndex

ROOT = Path(__file__).resolve().parent.parent
KUBE_VERSION = "1.33.0"
DOCS_PER_STREAM = 100

Body = dict[str, Any]


# --------------------------------------------------------------------------
# The corpus.


def _labels(name: str, r: random.Random) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": "shipyard",
        "app.kubernetes.io/component": r.choice(["web", "api", "worker", "batch"]),
    }


def deployment(i: int, r: random.Random) -> Body:
    name = f"app-{i}"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": f"team-{i % 7}", "labels": _labels(name, r),
                     "annotations": {"shipyard.io/owner": f"team-{i % 5}"}},
        "spec": {
            "replicas": r.randint(1, 5),
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": name}},
                "spec": {
                    "serviceAccountName": name,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 2000},
                    "containers": [{
                        "name": "main",
                        "image": f"registry.example.com/{name}:1.{i % 20}.{r.randint(0, 9)}",
                        "imagePullPolicy": "IfNotPresent",
                        "args": ["--port=8080", f"--log-level={r.choice(['info', 'debug'])}"],
                        "env": [
                            {"name": "MODE", "value": "production"},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        ],
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                      "limits": {"cpu": "1", "memory": f"{r.choice([256, 512, 1024])}Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 10},
                        "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}, "initialDelaySeconds": 5},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True}],
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}}],
                },
            },
        },
    }


def service(i: int, r: random.Random) -> Body:
    name = f"app-{i}"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": f"team-{i % 7}", "labels": _labels(name, r)},
        "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": name},
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
    }


def configmap(i: int, r: random.Random) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"app-{i}-config", "namespace": f"team-{i % 7}"},
        "data": {"app.properties": f"threads={r.randint(1, 16)}\ncache=true\n", "LOG_FORMAT": "json",
                 "FEATURE_X": str(r.random() > 0.5).lower()},
    }


def seldon_deployment(i: int, r: random.Random) -> Body:
    name = f"model-{i}"
    return {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": {"name": name, "namespace": "models", "labels": {"shipyard.io/model": name}},
        "spec": {
            "name": name,
            "protocol": "v2",
            "predictors": [{
                "name": "default",
                "replicas": r.randint(1, 3),
                "graph": {"name": "classifier", "implementation": "SKLEARN_SERVER",
                          "modelUri": f"gs://models/{name}/v{i % 9}", "children": []},
                "componentSpecs": [{"spec": {"containers": [{
                    "name": "classifier",
                    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                }]}}],
                "traffic": 100,
                "labels": {"version": f"v{i % 9}"},
            }],
        },
    }


def service_monitor(i: int, r: random.Random) -> Body:
    name = f"app-{i}"
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": name, "namespace": f"team-{i % 7}"},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                 "endpoints": [{"port": "http", "interval": f"{r.choice([15, 30, 60])}s", "path": "/metrics"}]},
    }


def service_account(i: int, r: random.Random) -> Body:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": f"app-{i}", "namespace": f"team-{i % 7}"}}


def hpa(i: int, r: random.Random) -> Body:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": f"app-{i}", "namespace": f"team-{i % 7}"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"app-{i}"},
                 "minReplicas": 1, "maxReplicas": r.randint(2, 10),
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                          "averageUtilization": 70}}}]},
    }


def pdb(i: int, r: random.Random) -> Body:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": f"app-{i}", "namespace": f"team-{i % 7}"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": f"app-{i}"}}},
    }


def role(i: int, r: random.Random) -> Body:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": f"app-{i}", "namespace": f"team-{i % 7}"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]}],
    }


def role_binding(i: int, r: random.Random) -> Body:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"app-{i}", "namespace": f"team-{i % 7}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"app-{i}"},
        "subjects": [{"kind": "ServiceAccount", "name": f"app-{i}", "namespace": f"team-{i % 7}"}],
    }


def cron_job(i: int, r: random.Random) -> Body:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": f"retrain-{i}", "namespace": "pipelines"},
        "spec": {"schedule": f"{r.randint(0, 59)} {r.randint(0, 23)} * * *", "concurrencyPolicy": "Forbid",
                 "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": {
                     "restartPolicy": "OnFailure",
                     "containers": [{"name": "retrain", "image": f"registry.example.com/retrain:{i % 30}",
                                     "command": ["python", "-m", "retrain"],
                                     "resources": {"limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": 1}}}],
                 }}}}},
    }


KINDS: list[tuple[Callable[[int, random.Random], Body], int]] = [
    (deployment, 20), (service, 15), (configmap, 15), (seldon_deployment, 12), (service_monitor, 8),
    (service_account, 8), (hpa, 6), (pdb, 6), (role, 4), (role_binding, 4), (cron_job, 2),
]


def corpus(objects: int, seed: int) -> list[str]:
    """``objects`` objects as YAML streams of DOCS_PER_STREAM documents."""
    r = random.Random(seed)
    makers = [maker for maker, _ in KINDS]
    weights = [weight for _, weight in KINDS]
    docs = [
        yaml.dump(r.choices(makers, weights)[0](i, r), Dumper=yaml.CSafeDumper, sort_keys=False)
        for i in range(objects)
    ]
    return ["---\n".join(docs[k : k + DOCS_PER_STREAM]) for k in range(0, objects, DOCS_PER_STREAM)]


def seldon_crds() -> list[Any]:
    """The SeldonDeployment CRD as the repository installs it: the pinned
    chart from the mirror, rendered by helm."""
    mirror = Path(os.environ.get("SHIPYARD_MIRROR") or ROOT.parent / "shared" / "mirror")
    chart = mirror / "charts" / "seldon-core-operator-1.17.1.tgz"
    helm = ROOT / ".venv" / "bin" / "helm"
    helm_cmd = str(helm) if helm.exists() else shutil.which("helm")
    if not chart.is_file() or not helm_cmd:
        raise SystemExit(f"needs helm and the mirror's seldon-core-operator chart ({chart}): set SHIPYARD_MIRROR")
    text = subprocess.run([helm_cmd, "template", "seldon", str(chart)], check=True, capture_output=True, text=True).stdout
    return [o for o in load_text(text, "chart:seldon-core-operator-1.17.1").objects if o.kind == "CustomResourceDefinition"]


# --------------------------------------------------------------------------
# The runs.


@dataclass
class Pass:
    """One full pass: objects, findings, and CPU / wall seconds per stage."""

    objects: int = 0
    findings: int = 0
    load_cpu: float = 0.0
    check_cpu: float = 0.0
    wall: float = 0.0

    @property
    def cpu(self) -> float:
        return self.load_cpu + self.check_cpu


def pipeline(streams: list[str], crds: list[Any]) -> Pass:
    """Load every stream, then validate every object (one thread)."""
    wall = time.perf_counter()
    started = time.process_time()
    objects = []
    for k, text in enumerate(streams):
        objects.extend(load_text(text, f"stream-{k}.yaml").objects)
    loaded = time.process_time()
    findings = validate_objects(objects, KUBE_VERSION, crds=CrdIndex.from_objects(crds))
    done = time.process_time()
    return Pass(len(objects), len(findings), loaded - started, done - loaded, time.perf_counter() - wall)


def kubernetes_validate_rate(streams: list[str], sample: int) -> tuple[int, float, float, int]:
    """kubernetes-validate on ``sample`` documents spread over the corpus:
    (documents, seconds with parsing, seconds validating only, errors)."""
    import kubernetes_validate

    texts = [doc for stream in streams for doc in stream.split("---\n")]
    step = max(1, len(texts) // sample)
    chosen = texts[::step][:sample]
    started = time.process_time()
    parsed = [yaml.safe_load(doc) for doc in chosen]
    parse_seconds = time.process_time() - started
    failures = 0
    started = time.process_time()
    for body in parsed:
        try:
            kubernetes_validate.validate(body, KUBE_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            pass  # custom resources: it has no schema for them, and says so
        except kubernetes_validate.ValidationError:
            failures += 1
    validate_seconds = time.process_time() - started
    return len(chosen), parse_seconds + validate_seconds, validate_seconds, failures


def report(label: str, run: Pass) -> None:
    print(f"{label:28s} {run.objects / run.cpu:9,.0f} objects per CPU-second"
          f"   (load {run.objects / run.load_cpu:,.0f}/s, schemas {run.objects / run.check_cpu:,.0f}/s;"
          f" wall clock {run.objects / run.wall:,.0f}/s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--repeat", type=int, default=3, help="warm passes; the best is reported")
    parser.add_argument("--sample", type=int, default=200, help="documents given to kubernetes-validate")
    args = parser.parse_args(argv)

    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cores:
        os.sched_setaffinity(0, {cores[-1]})
        print(f"pinned to CPU core {cores[-1]} (of {len(cores)}); load average {os.getloadavg()[0]:.1f}")

    crds = seldon_crds()
    streams = corpus(args.objects, args.seed)
    size = sum(len(s) for s in streams)
    print(f"corpus: {args.objects} objects, {len(streams)} streams, {size / 1e6:.1f} MB of YAML, seed {args.seed}")

    cold = pipeline(streams, crds)
    if cold.findings:
        print(f"warning: the corpus gave {cold.findings} findings; it is meant to be clean")
    report("cold pass", cold)
    warm = min((pipeline(streams, crds) for _ in range(args.repeat)), key=lambda p: p.cpu)
    report(f"warm pass (best of {args.repeat})", warm)
    ours = warm.objects / warm.cpu

    n, total_s, validate_s, failures = kubernetes_validate_rate(streams, args.sample)
    theirs = n / total_s
    print(f"kubernetes_validate: {theirs:9,.1f} objects per CPU-second (yaml.safe_load + validate(strict=True))"
          f" on a sample of {n} documents spread over the corpus, since it re-reads its schemas on every call;"
          f" validate() alone {n / validate_s:,.1f}/s; {failures} rejected")
    print(f"ratio (warm pipeline / kubernetes_validate, same run): {ours / theirs:,.0f}x")
    target_rate, target_ratio = 3_800, 50
    ok = ours >= target_rate and ours / theirs >= target_ratio
    print(f"targets: >= {target_rate:,} objects/s and >= {target_ratio}x: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
