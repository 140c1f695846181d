"""The files of a new model, in the shapes models/iris uses: model.yaml with
no version registered yet, deploy/ (the SeldonDeployment with one predictor
and an empty modelUri, probes, a PodDisruptionBudget) and monitoring/ (a
PodMonitor and the error-rate and latency alerts). Only text here; what goes
into it is decided in scaffold.model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.scaffold.common import yaml_scalar

GRAPH_NODE = "model"  # the graph node and its container share this name
REQUESTS = {"cpu": "100m", "memory": "256Mi"}
LIMITS = {"cpu": "1", "memory": "512Mi"}

# Where each protocol's server says it is ready and alive (port `http`,
# which Seldon names on every model container). Seldon's Python wrapper
# answers /health/ping; v2 servers (MLServer, Triton) the Open Inference
# Protocol's health endpoints; TensorFlow Serving its model status.
PROBES = {
    "seldon": ("/health/ping", "/health/ping"),
    "v2": ("/v2/health/ready", "/v2/health/live"),
    "tensorflow": (f"/v1/models/{GRAPH_NODE}", f"/v1/models/{GRAPH_NODE}"),
}


def flow(value: Any) -> str:
    """``value`` as one line of YAML flow style, strings kept strings."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_scalar(str(k), in_flow=True)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return yaml_scalar(str(value), in_flow=True)


@dataclass(frozen=True)
class ModelFacts:
    """Everything the files of one model say."""

    name: str
    owner: str
    description: str
    protocol: str
    implementation: str | None
    image: str | None
    gpus: int
    replicas: dict[str, int]  # per environment, in promotion order
    canary_replicas: dict[str, int]
    no_gpu_envs: tuple[str, ...] = ()  # environments given 0 replicas: no cluster there has the GPUs
    node_selector: dict[str, Any] = field(default_factory=dict)
    tolerations: list[Any] = field(default_factory=list)
    namespace: str = "models"

    @property
    def first_environment(self) -> str:
        return next(iter(self.replicas), "dev")


def _title(name: str) -> str:
    """``fraud-detector`` -> ``FraudDetector``, for alert names (which must
    start with a letter)."""
    text = "".join(part[:1].upper() + part[1:] for part in name.split("-"))
    return text if text[:1].isalpha() else "Model" + text


def model_yaml(f: ModelFacts) -> str:
    n = yaml_scalar(f.name)
    served = f"implementation: {f.implementation}" if f.implementation else f"image: {yaml_scalar(str(f.image))}"
    lines = [
        f"# {f.name}: made by `shipyard new model`, with no version registered yet.",
        f"# `shipyard register {f.name} --version V --uri URI --metrics FILE` adds the",
        f"# first; `shipyard promote {f.name} --to {f.first_environment}` then deploys it there.",
        "apiVersion: shipyard.dev/v1alpha1",
        "kind: Model",
        "metadata:",
        f"  name: {n}",
        "spec:",
        f"  owner: {yaml_scalar(f.owner)}",
        f"  description: {yaml_scalar(f.description)}",
        "  serving:",
        f"    {served}",
        f"    protocol: {f.protocol}",
        f"    namespace: {f.namespace}",
        "    resources:",
        f"      requests: {flow(REQUESTS)}",
        f"      limits: {flow(LIMITS)}",
        "    # nvidia.com/gpu per replica (deploy/ requests the same).",
        f"    gpu: {f.gpus}",
    ]
    if f.no_gpu_envs:
        lines.append(f"    # 0 in {', '.join(f.no_gpu_envs)}: no cluster there has {f.gpus} GPU(s) to give a replica.")
    lines.append("    replicas:")
    lines += [f"      {env}: {count}" for env, count in f.replicas.items()]
    lines += [
        "    # Replicas of the canary predictor while a canary runs (shipyard promote --canary).",
        f"    canaryReplicas: {flow(f.canary_replicas)}",
        "  # Per environment, the metrics a version must reach to be pinned there",
        "  # (docs/models.md). Without gates every registered version passes: add",
        "  # them before the model reaches production, for example",
        "  # gates:",
        "  #   production:",
        "  #     accuracy: {min: 0.90}",
        "  # Registered versions, oldest first: `shipyard register` appends them.",
        "  versions: []",
    ]
    return "\n".join(lines) + "\n"


def deploy_kustomization(f: ModelFacts) -> str:
    return f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {f.namespace}
resources:
- seldondeployment.yaml
"""


def seldondeployment(f: ModelFacts) -> str:
    n = yaml_scalar(f.name)
    ready, live = PROBES[f.protocol]
    limits: dict[str, Any] = dict(LIMITS)
    if f.gpus:
        limits["nvidia.com/gpu"] = f.gpus
    graph = [
        "    graph:",
        f"      name: {GRAPH_NODE}",
        "      type: MODEL",
    ]
    if f.implementation:
        graph.append(f"      implementation: {f.implementation}")
    graph += [
        "      # Set per environment by the pinned version's component",
        f"      # (models/{f.name}/versions/<version>); never written by hand.",
        '      modelUri: ""',
    ]
    container = [f"        - name: {GRAPH_NODE}"]
    if f.image:
        container.append(f"          image: {yaml_scalar(f.image)}")
    container += [
        "          resources:",
        f"            requests: {flow(REQUESTS)}",
        f"            limits: {flow(limits)}",
        "          # Ready once the model is loaded, not when the port opens.",
        "          readinessProbe:",
        f"            httpGet: {{path: {ready}, port: http}}",
        "            initialDelaySeconds: 10",
        "            periodSeconds: 5",
        "          livenessProbe:",
        f"            httpGet: {{path: {live}, port: http}}",
        "            initialDelaySeconds: 60",
        "            periodSeconds: 10",
    ]
    scheduling: list[str] = []
    if f.gpus:
        scheduling = [
            "        # GPU nodes only: what clusters/*/cluster.yaml says their GPU pods need.",
            f"        nodeSelector: {flow(f.node_selector)}",
            f"        tolerations: {flow(f.tolerations)}",
        ]
    body = [
        f"# The {f.name} SeldonDeployment, the same in every environment. Per environment,",
        f"# overlays/<env>/models/{f.name}/ adds the pinned version's component (modelUri,",
        "# version labels), replicas and, during a canary, a second predictor copied",
        "# from this one.",
        "apiVersion: machinelearning.seldon.io/v1",
        "kind: SeldonDeployment",
        "metadata:",
        f"  name: {n}",
        "  labels:",
        f"    app.kubernetes.io/name: {n}",
        "    app.kubernetes.io/part-of: shipyard-models",
        "spec:",
        f"  protocol: {f.protocol}",
        "  predictors:",
        "  - name: default",
        "    replicas: 1",
        "    traffic: 100",
        *graph,
        "    componentSpecs:",
        "    - pdbSpec:",
        "        maxUnavailable: 1",
        "      spec:",
        "        containers:",
        *container,
        *scheduling,
    ]
    return "\n".join(body) + "\n"


def monitoring_kustomization(f: ModelFacts) -> str:
    return f"""# Monitoring of the {f.name} model: Prometheus scrapes the Seldon executor of
# every {f.name} pod, and two alerts watch its error rate and latency, per
# predictor (so a canary that misbehaves alerts on its own).
# Pins in monitored environments (promotion.monitored) list this folder (docs/models.md).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {f.namespace}
resources:
- podmonitor.yaml
- prometheusrule.yaml
"""


def podmonitor(f: ModelFacts) -> str:
    n = yaml_scalar(f.name)
    return f"""# Seldon Core 1.17 labels every pod of a SeldonDeployment with
# seldon-deployment-id: <name>; its executor serves Prometheus metrics on the
# container port named "metrics" at /prometheus.
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {n}
  labels:
    app.kubernetes.io/name: {n}
    app.kubernetes.io/part-of: shipyard-models
spec:
  selector:
    matchLabels:
      seldon-deployment-id: {n}
  podMetricsEndpoints:
  - port: metrics
    path: /prometheus
    interval: 30s
"""


def prometheusrule(f: ModelFacts) -> str:
    n = yaml_scalar(f.name)
    title = _title(f.name)
    selector = f'deployment_name="{f.name}"'
    return f"""# Alerts on the executor's request metrics, by predictor and version
# (predictor_version is the predictor's `version` label, set by the pinned
# version's component).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {n}
  labels:
    app.kubernetes.io/name: {n}
    app.kubernetes.io/part-of: shipyard-models
spec:
  groups:
  - name: {f.name}.rules
    rules:
    - alert: {title}HighErrorRate
      expr: |
        sum by (predictor_name, predictor_version) (
          rate(seldon_api_executor_server_requests_seconds_count{{{selector}, code!~"2.."}}[5m])
        )
        /
        sum by (predictor_name, predictor_version) (
          rate(seldon_api_executor_server_requests_seconds_count{{{selector}}}[5m])
        )
        > 0.05
      for: 10m
      labels:
        severity: critical
        model: {n}
      annotations:
        summary: "{f.name} {{{{ $labels.predictor_name }}}} ({{{{ $labels.predictor_version }}}}) fails more than 5% of requests"
        description: "Check the predictor's logs; during a canary, `shipyard rollout {f.name} --env <env> --abort` removes it."
    - alert: {title}HighLatency
      expr: |
        histogram_quantile(0.95,
          sum by (le, predictor_name, predictor_version) (
            rate(seldon_api_executor_server_requests_seconds_bucket{{{selector}}}[5m])
          )
        ) > 0.5
      for: 10m
      labels:
        severity: warning
        model: {n}
      annotations:
        summary: "{f.name} {{{{ $labels.predictor_name }}}} ({{{{ $labels.predictor_version }}}}) p95 latency is above 500 ms"
        description: "Compare with the other predictor; scale replicas in models/{f.name}/model.yaml if load grew."
"""
