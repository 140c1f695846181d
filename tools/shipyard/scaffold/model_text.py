"""The files of a new model, in the shapes models/iris uses: model.yaml with
no version registered yet, deploy/ (the SeldonDeployment with one predictor
and an empty modelUri, probes, a PodDisruptionBudget) and monitoring/ (a
PodMonitor and the error-rate and latency alerts). Only text here; what goes
into it is decided in scaffold.model."""

from __future__ import annotations

from dataclasses import dataclass
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
    gpu: int | dict[str, int]  # spec.serving.gpu: one count, or one per environment
    replicas: dict[str, int]  # per environment, in promotion order
    canary_replicas: dict[str, int]
    no_gpu_envs: tuple[str, ...] = ()  # environments given 0 replicas: no cluster there has the GPUs
    operator_probes: bool = False  # the operator writes the container's probes (MLServer under v2)
    namespace: str = "models"
    store_secret: str | None = None  # modelStore.secretName of shipyard.yaml: the graph's envSecretRefName

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
        "    # nvidia.com/gpu per replica (one number, or one per environment). deploy/ is",
        "    # the CPU shape: where this is above 0, the environment's pin adds the GPU",
        "    # limit and the node selector and tolerations of its clusters (cluster.yaml spec.gpu).",
        f"    gpu: {flow(f.gpu)}",
    ]
    if f.no_gpu_envs:
        lines.append(f"    # 0 replicas in {', '.join(f.no_gpu_envs)}: no cluster there has the GPUs to give a replica.")
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
    if f.store_secret:
        graph += [
            "      # The model store's credentials for the storage initializer (shipyard.yaml",
            "      # modelStore.secretName; created in the cluster, never in git: docs/registry.md).",
            f"      envSecretRefName: {yaml_scalar(f.store_secret)}",
        ]
    container = [f"        - name: {GRAPH_NODE}"]
    if f.image:
        container.append(f"          image: {yaml_scalar(f.image)}")
    container += [
        "          resources:",
        f"            requests: {flow(REQUESTS)}",
        f"            limits: {flow(limits)}",
    ]
    if f.operator_probes:
        container += [
            "          # No probes: the operator gives MLServer its own (/v2/health/ready and",
            "          # /v2/health/live on port http) and replaces any written here.",
        ]
    else:
        container += [
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


def _error_summary(f: ModelFacts) -> str:
    return f"{f.name} {{{{ $labels.predictor_name }}}} ({{{{ $labels.predictor_version }}}}) fails more than 5% of requests"


def _error_description(f: ModelFacts) -> str:
    return f"Check the predictor's logs; during a canary, `shipyard rollout {f.name} --env <env> --abort` removes it."


def _latency_summary(f: ModelFacts) -> str:
    return f"{f.name} {{{{ $labels.predictor_name }}}} ({{{{ $labels.predictor_version }}}}) p95 latency is above 500 ms"


def _latency_description(f: ModelFacts) -> str:
    return f"Compare with the other predictor; scale replicas in models/{f.name}/model.yaml if load grew."


def prometheusrule(f: ModelFacts) -> str:
    n = yaml_scalar(f.name)
    title = _title(f.name)
    selector = f'deployment_name="{f.name}"'
    return f"""# Alerts on the executor's request metrics, by predictor and version
# (predictor_version is the predictor's `version` annotation, set by the
# pinned version's component). An error is any response that is not a
# success of its transport: REST writes code as the HTTP status ("200"),
# gRPC as the status name ("OK"). docs/monitoring.md lists what the executor
# emits; tests/ beside this file are the alerts' promtool unit tests.
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
          rate(seldon_api_executor_server_requests_seconds_count{{{selector}, code!~"2..|OK"}}[5m])
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
        summary: "{_error_summary(f)}"
        description: "{_error_description(f)}"
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
        summary: "{_latency_summary(f)}"
        description: "{_latency_description(f)}"
"""


# The gRPC method a prediction arrives as, per protocol: the executor's
# server interceptor writes it as `service` (seldon-core 1.17.1
# executor/api/grpc: seldon/proto/prediction.pb.go, kfserving/inference/
# grpc_service.proto, tensorflow/server.go).
GRPC_PREDICT = {
    "seldon": "/seldon.protos.Seldon/Predict",
    "v2": "/inference.GRPCInferenceService/ModelInfer",
    "kfserving": "/inference.GRPCInferenceService/ModelInfer",
    "tensorflow": "/tensorflow.serving.PredictionService/Predict",
}


def _series(f: ModelFacts, metric: str, predictor: str, version: str, code: str, le: str | None = None) -> str:
    """One executor series as promtool's input_series writes it: REST codes
    come with service predictions and method post, gRPC codes with the full
    method and unary (what seldon-core 1.17.1's executor writes)."""
    rest = code.isdigit()
    service = "predictions" if rest else GRPC_PREDICT.get(f.protocol, GRPC_PREDICT["seldon"])
    method = "post" if rest else "unary"
    labels = (f'namespace="{f.namespace}", deployment_name="{f.name}", predictor_name="{predictor}", '
              f'predictor_version="{version}", service="{service}", method="{method}", code="{code}"')
    if le is not None:
        labels += f', le="{le}"'
    return f"seldon_api_executor_server_requests_seconds_{metric}{{{labels}}}"


def _case(name: str, series: list[tuple[str, str]], alert: str, model: str,
          fired: list[tuple[str, str, str, str, str]]) -> str:
    """One promtool test group: its input series, then the alerts at 20m
    (fired: predictor, version, severity, summary, description)."""
    lines = [f"- name: {yaml_scalar(name)}", "  interval: 1m", "  input_series:"]
    for text, values in series:
        lines += [f"  - series: {yaml_scalar(text)}", f"    values: '{values}'"]
    lines += ["  alert_rule_test:", "  - eval_time: 20m", f"    alertname: {alert}"]
    if not fired:
        lines.append("    exp_alerts: []")
    else:
        lines.append("    exp_alerts:")
        for predictor, version, severity, summary, description in fired:
            lines += [f"    - exp_labels: {{severity: {severity}, model: {yaml_scalar(model, in_flow=True)}, "
                      f"predictor_name: {predictor}, predictor_version: \"{version}\"}}",
                      "      exp_annotations:",
                      f"        summary: {yaml_scalar(summary)}",
                      f"        description: {yaml_scalar(description)}"]
    return "\n".join(lines)


def alert_tests(f: ModelFacts) -> str:
    """promtool unit tests of the two alerts, beside them
    (monitoring/tests/alerts.yaml): each alert fires on what it watches and
    stays quiet on healthy traffic, REST and gRPC alike, and its summary
    names the predictor's version."""
    title = _title(f.name)
    errors, latency = f"{title}HighErrorRate", f"{title}HighLatency"

    def summary(template: str, predictor: str, version: str) -> str:
        return (template.replace("{{ $labels.predictor_name }}", predictor)
                .replace("{{ $labels.predictor_version }}", version))

    def fired(alert: str, severity: str, predictor: str, version: str) -> list[tuple[str, str, str, str, str]]:
        if alert == errors:
            return [(predictor, version, severity, summary(_error_summary(f), predictor, version), _error_description(f))]
        return [(predictor, version, severity, summary(_latency_summary(f), predictor, version), _latency_description(f))]

    count = "count"
    cases = [
        _case("REST 5xx above 5% fires for the predictor, naming its version",
              [(_series(f, count, "default", "1.0.0", "200"), "0+60x30"),
               (_series(f, count, "default", "1.0.0", "500"), "0+12x30")],
              errors, f.name, fired(errors, "critical", "default", "1.0.0")),
        _case("healthy gRPC traffic (code OK) does not fire",
              [(_series(f, count, "default", "1.0.0", "OK"), "0+60x30")], errors, f.name, []),
        _case("gRPC failures above 5% fire",
              [(_series(f, count, "default", "1.0.0", "OK"), "0+60x30"),
               (_series(f, count, "default", "1.0.0", "Unavailable"), "0+10x30")],
              errors, f.name, fired(errors, "critical", "default", "1.0.0")),
        _case("1% REST errors do not fire",
              [(_series(f, count, "default", "1.0.0", "200"), "0+99x30"),
               (_series(f, count, "default", "1.0.0", "500"), "0+1x30")], errors, f.name, []),
        _case("a failing canary alerts on its own, with its own version",
              [(_series(f, count, "default", "1.0.0", "200"), "0+90x30"),
               (_series(f, count, "canary", "1.1.0", "200"), "0+5x30"),
               (_series(f, count, "canary", "1.1.0", "500"), "0+5x30")],
              errors, f.name, fired(errors, "critical", "canary", "1.1.0")),
        _case("a slow histogram (p95 near 2 s) fires the latency alert",
              [(_series(f, "bucket", "default", "1.0.0", "200", le), values)
               for le, values in (("0.1", "0+5x30"), ("0.5", "0+10x30"), ("1", "0+60x30"), ("2.5", "0+100x30"),
                                  ("+Inf", "0+100x30"))],
              latency, f.name, fired(latency, "warning", "default", "1.0.0")),
        _case("a fast histogram (p95 near 100 ms) does not fire",
              [(_series(f, "bucket", "default", "1.0.0", "200", le), values)
               for le, values in (("0.1", "0+95x30"), ("0.5", "0+100x30"), ("+Inf", "0+100x30"))],
              latency, f.name, []),
    ]
    body = "\n\n".join(cases)
    return f"""# promtool unit tests of the {f.name} alerts (../prometheusrule.yaml), run by
# tests/monitoring/test_alert_rules.py; by hand:
#   .venv/bin/python -m shipyard.monitoring.promtool test models/{f.name}/monitoring/tests/alerts.yaml
# The series are what seldon-core 1.17.1's executor writes (docs/monitoring.md);
# the versions are examples. Values are per-minute counters ('0+60x30': 60 more each minute).
rule_files:
- ../prometheusrule.yaml
evaluation_interval: 1m
tests:
{body}
"""
