"""Promotion on a large repository: 200 models, three environments.

Generates a Shipyard repository (models/<m>/ with model.yaml, deploy base,
monitoring and generated version components; one pin per model and
environment), commits it to a fresh git repository, then times one
`shipyard promote` end to end, in-process (imports already loaded): clean
work-tree check, plan (model.yaml, pins, gates, order), branch, atomic
write, kustomize before/after (the real binary), commit and PR text.
Also times the same promotion as a fresh `shipyard` process, a canary, and
`status` over all 600 placements. Prints figures; it is not a test. Exits 1
when an in-process promotion takes longer than the budget (1 s).

Run: .venv/bin/python benchmarks/promote.py [--models 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shipyard.lifecycle.pin_edit import PinState, new_pin_text
from shipyard.models.components import expected_components
from shipyard.models.pins import pin_dir
from shipyard.models.spec import load_model
from shipyard.cli import main
from shipyard.repo import Repository

BUDGET_S = 1.0
ENVS = (("dev", 1), ("staging", 1), ("production", 2))

MODEL_YAML = """\
# {name}: a generated model for the promotion benchmark.
apiVersion: shipyard.dev/v1alpha1
kind: Model
metadata:
  name: {name}
spec:
  owner: team-{team}@example.com
  serving:
    implementation: SKLEARN_SERVER
    protocol: seldon
    namespace: models
    resources:
      requests: {{cpu: 100m, memory: 256Mi}}
      limits: {{cpu: "1", memory: 512Mi}}
    replicas: {{dev: 1, staging: 1, production: 2}}
    canaryReplicas: {{production: 2}}
  gates:
    staging:
      accuracy: {{min: 0.90}}
    production:
      accuracy: {{min: 0.93}}
  versions:
  - version: 1.0.0
    modelUri: gs://bench-models/{name}/1.0.0
    metrics: {{accuracy: 0.95}}
    created: "2026-10-01T00:00:00Z"
  - version: 1.1.0
    modelUri: gs://bench-models/{name}/1.1.0
    metrics: {{accuracy: 0.97}}
    created: "2026-10-15T00:00:00Z"
"""

DEPLOY = """\
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: {name}
spec:
  protocol: seldon
  predictors:
  - name: default
    replicas: 1
    traffic: 100
    graph:
      name: classifier
      type: MODEL
      implementation: SKLEARN_SERVER
      modelUri: ""
    componentSpecs:
    - spec:
        containers:
        - name: classifier
          resources:
            requests: {{cpu: 100m, memory: 256Mi}}
            limits: {{cpu: "1", memory: 512Mi}}
"""

MONITORING = """\
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {name}
spec:
  selector:
    matchLabels:
      seldon-deployment-id: {name}
  podMetricsEndpoints:
  - port: metrics
    path: /prometheus
"""

KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def generate(root: Path, count: int) -> list[str]:
    names = [f"model-{i:03d}" for i in range(count)]
    write(root / "shipyard.yaml", "repository:\n  url: https://github.com/example/shipyard.git\n")
    write(root / ".gitignore", ".shipyard-cache/\n")
    for env, _ in ENVS:
        write(root / "overlays" / env / "kustomization.yaml", KUSTOMIZATION + "resources:\n- models\n")
        write(root / "overlays" / env / "models" / "kustomization.yaml",
              f"# The models served in {env}.\n" + KUSTOMIZATION + "resources:\n" + "".join(f"- {n}\n" for n in names))
    for env in ("dev", "staging", "production"):
        write(root / "clusters" / f"{env}-1" / "cluster.yaml",
              f"apiVersion: shipyard.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: {env}-1\n"
              f"spec:\n  environment: {env}\n  kubernetesVersion: \"1.33\"\n  istio: true\n")
    for index, name in enumerate(names):
        base = root / "models" / name
        write(base / "model.yaml", MODEL_YAML.format(name=name, team=index % 7))
        write(base / "deploy" / "kustomization.yaml",
              KUSTOMIZATION + "namespace: models\nresources:\n- seldondeployment.yaml\n")
        write(base / "deploy" / "seldondeployment.yaml", DEPLOY.format(name=name))
        write(base / "monitoring" / "kustomization.yaml",
              KUSTOMIZATION + "namespace: models\nresources:\n- podmonitor.yaml\n")
        write(base / "monitoring" / "podmonitor.yaml", MONITORING.format(name=name))
    repo = Repository.load(root)
    for name in names:
        model = load_model(repo, name)
        for path, text in expected_components(repo, model).items():
            write(path, text)
        for env, replicas in ENVS:
            write(pin_dir(repo, env, name) / "kustomization.yaml",
                  new_pin_text(repo, env, name, PinState("1.0.0", replicas)))
    return names


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


CPU: list[float] = []


def timed(fn) -> float:
    """Wall time of ``fn``; its CPU time (this process and the git/kubectl
    children it waited for) is appended to CPU, to read figures taken on a
    busy machine."""
    before = os.times()
    started = time.perf_counter()
    fn()
    wall = time.perf_counter() - started
    after = os.times()
    CPU.append(sum(getattr(after, f) - getattr(before, f) for f in ("user", "system", "children_user", "children_system")))
    return wall


def run_cli(*args: str) -> None:
    code = main(list(args))
    if code != 0:
        raise SystemExit(f"shipyard {' '.join(args)} exited {code}")


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for key, value in {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}.items():
        os.environ.setdefault(key, value)

    with tempfile.TemporaryDirectory(prefix="shipyard-bench-promote-") as tmp:
        root = Path(tmp) / "repo"
        started = time.perf_counter()
        names = generate(root, args.models)
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "generated")
        files = sum(1 for _ in root.rglob("*") if _.is_file() and ".git" not in _.parts)
        print(f"repository: {len(names)} models, {len(ENVS)} environments, {files} files "
              f"(generated and committed in {time.perf_counter() - started:.1f}s)")
        sink = open(os.devnull, "w")
        stdout = sys.stdout
        quiet = ["--repo", str(root), "--pr-body", str(Path(tmp) / "body.md"), "--pr-title", str(Path(tmp) / "title.txt")]

        # warm the imports and the binary lookup once, on a model not measured
        sys.stdout = sink
        try:
            run_cli("promote", names[-1], "--to", "dev", "--version", "1.1.0", *quiet)
            git(root, "switch", "-q", "main")
            samples = []
            for i in range(args.repeat):
                name = names[i * (len(names) // max(args.repeat, 1))]
                samples.append(timed(lambda: run_cli("promote", name, "--to", "dev", "--version", "1.1.0", *quiet)))
                git(root, "switch", "-q", "main")
            noop = timed(lambda: run_cli("promote", names[0], "--to", "dev", "--version", "1.1.0", *quiet))
            canary_name = names[len(names) // 2]
            git(root, "switch", "-q", "main")
            canary = timed(lambda: run_cli("promote", canary_name, "--to", "production", "--version", "1.1.0",
                                           "--canary", "10", "--force", "--reason", "benchmark", *quiet))
            git(root, "switch", "-q", "main")
            status = timed(lambda: run_cli("status", "--repo", str(root), "--format", "json"))
        finally:
            sys.stdout = stdout
            sink.close()

        cold_name = names[1]
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "shipyard"), "promote", cold_name, "--to", "dev",
                        "--version", "1.1.0", *quiet], check=True, capture_output=True)
        cold = time.perf_counter() - started

    median = statistics.median(samples)
    print(f"promote (in-process, {len(samples)} runs): median {median * 1000:.0f} ms, "
          f"max {max(samples) * 1000:.0f} ms wall (budget {BUDGET_S * 1000:.0f} ms); "
          f"CPU median {statistics.median(CPU[:len(samples)]) * 1000:.0f} ms (with git and kubectl)")
    print(f"load average when done: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"promote as a new process (imports included): {cold * 1000:.0f} ms")
    print(f"promote re-run, nothing to change: {noop * 1000:.0f} ms")
    print(f"canary start in production: {canary * 1000:.0f} ms")
    print(f"status over {len(names) * len(ENVS)} placements (3 environments rendered): {status * 1000:.0f} ms")
    if max(samples) > BUDGET_S:
        print(f"FAIL: a promotion took {max(samples):.2f}s, over the {BUDGET_S:.0f}s budget")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main_bench())
