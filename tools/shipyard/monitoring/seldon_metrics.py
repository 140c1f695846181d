"""What seldon-core 1.17.1 emits to Prometheus, as data read from its source.

An alert on a metric or label nobody emits is valid PromQL: promtool loads
it, Prometheus evaluates it, and it never fires (or fires with an empty
label in its summary). Only the emitting code can say which names exist, so
every name, label and value here is copied from upstream at the version this
repository pins (the seldon-core-operator chart 1.17.1 runs the executor and
operator images of that tag), with the file it comes from beside it. A
version bump is a re-read of those files, not a guess. docs/monitoring.md
shows the same lists for people.

Two processes are described, each by the names that are its own:

- the executor (``seldon-container-engine``, the sidecar in every predictor
  pod): ``seldon_api_executor_*``, on its container port ``metrics`` at the
  SeldonDeployment's prometheus path (``/prometheus``);
- the operator (``seldon-controller-manager``): the controller-runtime
  metrics of the controller-runtime it is built with, ``controller_runtime_*``
  and ``workqueue_*``. Every controller-runtime manager exposes these names,
  so a rule's selector is judged against this list only when its ``job``
  names a PodMonitor that scrapes the seldon operator.

Everything else (kube-state-metrics, cAdvisor, ``up``, a model's own custom
metrics from the Python wrapper) is not described here and not judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["histogram", "summary", "counter", "gauge"]

SELDON_VERSION = "1.17.1"
EXECUTOR_SOURCE = (
    f"SeldonIO/seldon-core v{SELDON_VERSION} executor/api/metric/constants.go, server.go, client.go; "
    "executor/api/rest/server.go wrapMetrics, client.go getMetricsRoundTripper"
)
OPERATOR_SOURCE = (
    f"SeldonIO/seldon-core v{SELDON_VERSION} operator/go.mod (sigs.k8s.io/controller-runtime v0.11.2): "
    "controller-runtime pkg/internal/controller/metrics/metrics.go, pkg/metrics/workqueue.go"
)

# executor/api/metric/constants.go
DEPLOYMENT_NAME = "deployment_name"
PREDICTOR_NAME = "predictor_name"
PREDICTOR_VERSION = "predictor_version"  # Predictor.Annotations["version"], never its labels
SERVICE = "service"
METHOD = "method"
CODE = "code"
MODEL_NAME = "model_name"
MODEL_IMAGE = "model_image"
MODEL_VERSION = "model_version"

SERVER_LABELS = (DEPLOYMENT_NAME, PREDICTOR_NAME, PREDICTOR_VERSION, SERVICE, METHOD, CODE)  # NewServerMetrics
CLIENT_LABELS = (DEPLOYMENT_NAME, PREDICTOR_NAME, PREDICTOR_VERSION, SERVICE, MODEL_NAME, MODEL_IMAGE, MODEL_VERSION,
                 METHOD, CODE)  # NewClientMetrics

# The values of `code`. REST: promhttp (client_golang v1.12.1, instrument_server.go sanitizeCode) writes the
# HTTP status as a decimal number, "200", "500". gRPC: the interceptors write status.Code().String() (grpc-go
# v1.53.0 codes/code_string.go); a handler's plain error becomes Unknown (status.FromError).
GRPC_CODES = (
    "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
    "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
    "Internal", "Unavailable", "DataLoss", "Unauthenticated",
)
# A success and a failure of each transport, as the executor writes them: a selector on `code` must treat
# the two transports alike (an error rate that counts gRPC "OK" as an error fires on healthy traffic).
REST_SUCCESS, GRPC_SUCCESS = "200", "OK"
REST_FAILURE, GRPC_FAILURE = "500", "Unknown"

# The values of `method`. REST: promhttp sanitizeMethod, lower case or "unknown"; gRPC: always "unary"
# (metric/server.go and client.go pass it in the method position).
REST_METHODS = ("get", "put", "head", "post", "delete", "connect", "options", "notify", "trace", "patch", "unknown")
GRPC_METHODS = ("unary",)

# The values of `service`. REST: rest/server.go wrapMetrics names, constants.go *HttpServiceName; gRPC: the
# call's full method (info.FullMethod), such as /seldon.protos.Seldon/Predict, always starting with "/".
REST_SERVICES = ("predictions", "feedback", "status", "metadata")
GRPC_SERVICE_PREFIX = "/"
# A prediction's full method per protocol (executor/api/grpc: seldon/proto/prediction.pb.go, kfserving/inference/
# grpc_service.proto, tensorflow/server.go): samples that tell whether a selector admits gRPC traffic at all.
GRPC_PREDICT_METHODS = ("/seldon.protos.Seldon/Predict", "/inference.GRPCInferenceService/ModelInfer",
                        "/tensorflow.serving.PredictionService/Predict")

# Labels Prometheus adds to every series of a PodMonitor's targets: prometheus-operator v0.93.0
# pkg/prometheus/promcfg.go generatePodMonitorConfig (namespace, container, pod, job, endpoint) and
# Prometheus itself (instance).
TARGET_LABELS = ("namespace", "container", "pod", "job", "endpoint", "instance")

# The Prometheus Operator names a PodMonitor's job <namespace>/<name> (promcfg.go, same function), and the
# seldon-core-operator chart labels the manager's pods control-plane: seldon-controller-manager.
OPERATOR_POD_LABEL = ("control-plane", "seldon-controller-manager")


@dataclass(frozen=True)
class Metric:
    """One metric family as the code registers it."""

    name: str
    kind: MetricKind
    labels: tuple[str, ...]

    def series(self) -> dict[str, tuple[str, ...]]:
        """The series names Prometheus stores for this family, each with its
        labels: a histogram is _bucket (with le), _count and _sum; a summary
        is its own name (with quantile), _count and _sum."""
        if self.kind == "histogram":
            return {f"{self.name}_bucket": (*self.labels, "le"), f"{self.name}_count": self.labels,
                    f"{self.name}_sum": self.labels}
        if self.kind == "summary":
            return {self.name: (*self.labels, "quantile"), f"{self.name}_count": self.labels,
                    f"{self.name}_sum": self.labels}
        return {self.name: self.labels}


@dataclass(frozen=True)
class Emitter:
    """A process whose metrics are judged: the name prefixes that are its
    own, what it registers, and where upstream says so."""

    name: str
    prefixes: tuple[str, ...]
    metrics: tuple[Metric, ...]
    source: str

    def owns(self, metric: str) -> bool:
        return metric.startswith(self.prefixes)

    def series(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {}
        for metric in self.metrics:
            found.update(metric.series())
        return found


EXECUTOR = Emitter(
    name=f"seldon-core {SELDON_VERSION} executor",
    prefixes=("seldon_api_executor_",),
    metrics=(
        # ServerRequestsMetricName, NewServerMetrics: a histogram and a summary of every request it serves
        Metric("seldon_api_executor_server_requests_seconds", "histogram", SERVER_LABELS),
        Metric("seldon_api_executor_server_requests_seconds_summary", "summary", SERVER_LABELS),
        # ClientRequestsMetricName, NewClientMetrics: every call it makes to a graph node (the model server)
        Metric("seldon_api_executor_client_requests_seconds", "histogram", CLIENT_LABELS),
        Metric("seldon_api_executor_client_requests_seconds_summary", "summary", CLIENT_LABELS),
    ),
    source=EXECUTOR_SOURCE,
)

OPERATOR = Emitter(
    name=f"seldon-core {SELDON_VERSION} operator",
    prefixes=("controller_runtime_", "workqueue_"),
    metrics=(
        # pkg/internal/controller/metrics/metrics.go
        Metric("controller_runtime_reconcile_total", "counter", ("controller", "result")),
        Metric("controller_runtime_reconcile_errors_total", "counter", ("controller",)),
        Metric("controller_runtime_reconcile_time_seconds", "histogram", ("controller",)),
        Metric("controller_runtime_max_concurrent_reconciles", "gauge", ("controller",)),
        Metric("controller_runtime_active_workers", "gauge", ("controller",)),
        # pkg/metrics/workqueue.go (subsystem workqueue)
        Metric("workqueue_depth", "gauge", ("name",)),
        Metric("workqueue_adds_total", "counter", ("name",)),
        Metric("workqueue_queue_duration_seconds", "histogram", ("name",)),
        Metric("workqueue_work_duration_seconds", "histogram", ("name",)),
        Metric("workqueue_unfinished_work_seconds", "gauge", ("name",)),
        Metric("workqueue_longest_running_processor_seconds", "gauge", ("name",)),
        Metric("workqueue_retries_total", "counter", ("name",)),
    ),
    source=OPERATOR_SOURCE,
)

# `method` is the one label whose every value is known: a matcher on it can be checked against all of them.
METHOD_VALUES = REST_METHODS + GRPC_METHODS


def code_value_emitted(value: str) -> bool:
    """Whether the executor can write ``value`` as `code`: a three-digit
    HTTP status (REST) or a gRPC status name."""
    return (len(value) == 3 and value.isdigit()) or value in GRPC_CODES


def service_value_emitted(value: str) -> bool:
    return value in REST_SERVICES or value.startswith(GRPC_SERVICE_PREFIX)


def value_emitted(label: str, value: str) -> bool | None:
    """Whether the executor writes ``value`` for ``label``; None when the
    label's values are open (names, versions, images)."""
    if label == CODE:
        return code_value_emitted(value)
    if label == SERVICE:
        return service_value_emitted(value)
    if label == METHOD:
        return value in METHOD_VALUES
    return None
