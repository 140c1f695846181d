"""What the drift check (tools/shipyard/drift/job.py) writes to Prometheus, as data.

job.py runs in .venv-drift and the drift image, where the toolkit is not
installed, so it cannot import this module; a test runs it and compares its
output with these lists. The labels are the executor's own names
(shipyard.monitoring.seldon_metrics): deployment_name, predictor_name and
predictor_version hold the same values as on seldon_api_executor_*, so a
panel or an alert can join drift with traffic. The Pushgateway adds its
scrape's target labels (job, instance, namespace, ...) as for any target.
"""

from __future__ import annotations

from shipyard.monitoring.seldon_metrics import DEPLOYMENT_NAME, PREDICTOR_NAME, PREDICTOR_VERSION, Metric

MODEL = "model"
FEATURE = "feature"
LABELS = (DEPLOYMENT_NAME, PREDICTOR_NAME, PREDICTOR_VERSION, MODEL)

P_VALUE = Metric("shipyard_drift_p_value", "gauge", (*LABELS, FEATURE))
DETECTED = Metric("shipyard_drift_detected", "gauge", LABELS)
THRESHOLD = Metric("shipyard_drift_threshold", "gauge", LABELS)
INSTANCES = Metric("shipyard_drift_instances", "gauge", LABELS)
LAST_RUN = Metric("shipyard_drift_last_run_timestamp_seconds", "gauge", LABELS)

METRICS = (P_VALUE, DETECTED, THRESHOLD, INSTANCES, LAST_RUN)
PUSH_JOB = "shipyard-drift"  # the Pushgateway grouping job (job.py PUSH_JOB)


def series() -> dict[str, tuple[str, ...]]:
    """Every drift series name with its labels."""
    found: dict[str, tuple[str, ...]] = {}
    for metric in METRICS:
        found.update(metric.series())
    return found
