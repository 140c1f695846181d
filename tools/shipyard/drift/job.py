"""The drift check a model's CronJob runs: logged requests against the detector
of the version that served them; the verdict as Prometheus metrics.

A script, not a toolkit module: it imports alibi-detect (.venv-drift, or the
drift image built from tools/envs/drift.txt; Dockerfile beside it) and
otherwise only the standard library and numpy.

Input, --requests DIR: the requests seldon-core 1.17.1's request logger
posted (executor/logger/worker.go sendCloudEvent: one CloudEvent per
request, type io.seldon.serving.inference.request, extensions
inferenceservicename = the SeldonDeployment, endpoint = the predictor,
namespace, modelid, requestid, protocol; data = the request body). The
executor POSTs each in the HTTP binary content mode (attributes as ce-*
headers, the body as it was sent) to the predictor's ``graph.logger.url``;
the sink there (sink.py beside this file; models/<m>/monitoring/
request-sink.yaml) keeps them in the CloudEvents JSON format, which is what
is read here: a ``*.json`` file holding one event, or a ``*.jsonl`` file
holding one event per line, in any sub-folder (the sink writes batches,
``<predictor>/<day>/<time>-<sink>-<n>.jsonl``). Responses
and feedback events, and events of other deployments, are skipped. A body is
a Seldon protocol message (``data.ndarray``, ``data.tensor``, with optional
``data.names``) or an Open Inference (V2) request (``inputs``).

--detectors DIR holds one folder per version (the detectors `shipyard drift
build` publishes to <store>/<model>/drift/<version>/). Which version a
predictor runs is --predictor-version NAME=VERSION, or, in the cluster, what
the executor's request metrics say in Prometheus (--prometheus URL): their
predictor_version is the predictor's ``version`` annotation.

Output (--out FILE, or stdout): the metrics in the Prometheus text format,
for each predictor with logged requests:

  shipyard_drift_p_value{<labels>, feature}   one per feature
  shipyard_drift_detected{<labels>}           1 (drift) or 0
  shipyard_drift_threshold{<labels>}          the per-feature p-value bound
  shipyard_drift_instances{<labels>}          instances judged
  shipyard_drift_last_run_timestamp_seconds{<labels>}

where <labels> are deployment_name, predictor_name, predictor_version (the
executor's own label names and values, so drift joins its request metrics)
and model. Every predictor of a known version gets its instance count and
run time, also with no requests logged; one with fewer than
--min-instances instances gets no verdict on too little data. With
--prometheus, a predictor that has logged requests but serves no version now
(a canary removed within the logs' window) is left out with a warning.

A CronJob's pod cannot be scraped (it is gone before Prometheus comes), so
--pushgateway URL PUTs the metrics to a Prometheus Pushgateway (grouping
job=shipyard-drift, deployment=<name>), replacing the previous run's; the
Pushgateway keeps them, and Prometheus scrapes it with honorLabels, so the
series keep these labels. Bad input: a message on stderr naming the file and
line, exit status 2, no metrics file written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, NoReturn

REQUEST_EVENT = "io.seldon.serving.inference.request"
METADATA_FILE = "shipyard-drift.json"
PUSH_JOB = "shipyard-drift"


class BadInput(Exception):
    """Input the check cannot judge; the message says what to fix."""


@dataclass
class Batch:
    """The logged instances of one predictor."""

    predictor: str
    rows: list[list[float]] = field(default_factory=list)
    names: list[str] | None = None


def _events(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, event) for each event a logged-request file holds."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError as exc:
                    raise BadInput(f"{path}:{number}: not a JSON CloudEvent: {exc}") from None
        return
    try:
        yield 1, json.loads(text)
    except ValueError as exc:
        raise BadInput(f"{path}:{getattr(exc, 'lineno', 1)}: not a JSON CloudEvent: {exc}") from None


def _number_rows(value: Any, where: str) -> list[list[float]]:
    if not isinstance(value, list) or not value:
        raise BadInput(f"{where}: want a non-empty list of instances")
    rows = value if isinstance(value[0], list) else [value]
    out = []
    for row in rows:
        if not isinstance(row, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row):
            raise BadInput(f"{where}: want numbers in every instance, got {row!r}")
        out.append([float(v) for v in row])
    return out


def instances(body: Any, where: str) -> tuple[list[list[float]], list[str] | None]:
    """The instances of one request body, and the feature names it gives."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        data = body["data"]
        names = data.get("names") if isinstance(data.get("names"), list) else None
        if "ndarray" in data:
            return _number_rows(data["ndarray"], where + ": data.ndarray"), names
        if isinstance(data.get("tensor"), dict):
            shape, values = data["tensor"].get("shape"), data["tensor"].get("values")
            if not (isinstance(shape, list) and len(shape) == 2 and isinstance(values, list)
                    and shape[0] * shape[1] == len(values)):
                raise BadInput(f"{where}: data.tensor wants shape [rows, features] and rows*features values")
            flat = _number_rows(values, where + ": data.tensor.values")[0]
            return [flat[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])], names
    if isinstance(body, dict) and isinstance(body.get("inputs"), list) and len(body["inputs"]) == 1:
        tensor = body["inputs"][0]
        shape, data = tensor.get("shape"), tensor.get("data")
        if isinstance(shape, list) and len(shape) == 2 and isinstance(data, list):
            flat = data if data and not isinstance(data[0], list) else [v for row in data for v in row]
            if shape[0] * shape[1] == len(flat):
                values = _number_rows(flat, where + ": inputs[0].data")[0]
                return [values[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])], None
        raise BadInput(f"{where}: inputs[0] wants shape [rows, features] and rows*features numbers")
    raise BadInput(f"{where}: not a Seldon protocol (data.ndarray, data.tensor) or V2 (inputs) request body")


def read_requests(folder: Path, deployment: str) -> dict[str, Batch]:
    """Every logged request of ``deployment`` under ``folder``, by predictor."""
    if not folder.is_dir():
        raise BadInput(f"{folder}: no such folder of logged requests")
    batches: dict[str, Batch] = {}
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file()):
        for number, event in _events(path):
            where = f"{path}:{number}"
            if not isinstance(event, dict):
                raise BadInput(f"{where}: want a CloudEvent (a JSON object)")
            if event.get("type") != REQUEST_EVENT or event.get("inferenceservicename") != deployment:
                continue
            predictor = event.get("endpoint")
            if not isinstance(predictor, str) or not predictor:
                raise BadInput(f"{where}: the event has no 'endpoint' (the predictor's name)")
            body = event.get("data")
            if isinstance(body, str):
                try:
                    body = json.loads(body)
                except ValueError:
                    raise BadInput(f"{where}: data is a string that is not JSON") from None
            rows, names = instances(body, where)
            batch = batches.setdefault(predictor, Batch(predictor))
            if names is not None:
                if batch.names is not None and batch.names != names:
                    raise BadInput(f"{where}: names {names} differ from {batch.names} in earlier requests")
                batch.names = names
            batch.rows.extend(rows)
    return batches


def executor_query(deployment: str, namespace: str) -> str:
    """PromQL: the last time each predictor and version of ``deployment`` served."""
    selector = f'deployment_name="{deployment}", namespace="{namespace}"'
    return ("max by (predictor_name, predictor_version) "
            f"(timestamp(seldon_api_executor_server_requests_seconds_count{{{selector}}}))")


def prometheus_versions(url: str, deployment: str, namespace: str) -> dict[str, str]:
    """predictor -> the version it serves now, from the executor's own
    metrics (predictor_version is the predictor's ``version`` annotation):
    of the versions a predictor served, the one seen last. No Kubernetes
    API access (and no RBAC) needed."""
    query = urllib.parse.urlencode({"query": executor_query(deployment, namespace)})
    with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/query?{query}", timeout=30) as response:
        answer = json.load(response)
    if answer.get("status") != "success":
        raise BadInput(f"{url}: the query failed: {answer.get('error', answer)}")
    latest: dict[str, tuple[float, str]] = {}
    for sample in answer["data"]["result"]:
        predictor = sample["metric"].get("predictor_name")
        version = sample["metric"].get("predictor_version")
        seen = float(sample["value"][1])
        if predictor and version and seen >= latest.get(predictor, (-math.inf, ""))[0]:
            latest[predictor] = (seen, version)
    return {predictor: version for predictor, (_, version) in latest.items()}


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def _series(deployment: str, model: str, predictor: str, version: str) -> dict[str, str]:
    return {"deployment_name": deployment, "predictor_name": predictor, "predictor_version": version, "model": model}


def _value(number: float) -> str:
    return "NaN" if math.isnan(number) else repr(float(number))


METRICS = {
    "shipyard_drift_p_value": "p-value of one feature's drift test of the logged requests against the version's training data.",
    "shipyard_drift_detected": "1 when the logged requests drifted from the version's training data (detector p-value, Bonferroni-corrected), else 0.",
    "shipyard_drift_threshold": "The per-feature p-value below which a feature counts as drifted (the detector's p-value over the number of features).",
    "shipyard_drift_instances": "Logged instances the last drift check judged.",
    "shipyard_drift_last_run_timestamp_seconds": "When the drift check last ran (Unix time).",
}


def judge(batches: dict[str, Batch], detectors: Path, versions: dict[str, str], *, deployment: str, model: str,
          min_instances: int, now: float, skip_unknown: bool = False) -> str:
    """The metrics text of one run. A predictor with logged requests and no
    known version is an error, unless ``skip_unknown`` (versions read from
    Prometheus): then it is a predictor that is gone -- a canary finished or
    aborted within the logs' window -- and is left out with a warning, so the
    other predictors still get their verdict."""
    samples: dict[str, list[str]] = {name: [] for name in METRICS}
    for predictor in sorted(set(batches) | set(versions)):
        batch = batches.get(predictor) or Batch(predictor)
        version = versions.get(predictor)
        if version is None and skip_unknown:
            print(f"warning: {len(batch.rows)} logged instances of predictor {predictor!r}, which Prometheus "
                  "says serves no version now (removed?); not judged", file=sys.stderr)
            continue
        if version is None:
            raise BadInput(f"requests logged for predictor {predictor!r}, whose version is unknown: "
                           f"pass --predictor-version {predictor}=<version>")
        labels = _series(deployment, model, predictor, version)
        samples["shipyard_drift_instances"].append(f"shipyard_drift_instances{_labels(**labels)} {len(batch.rows)}")
        samples["shipyard_drift_last_run_timestamp_seconds"].append(
            f"shipyard_drift_last_run_timestamp_seconds{_labels(**labels)} {_value(now)}")
        if len(batch.rows) < min_instances:
            continue
        folder = detectors / version
        try:
            meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise BadInput(f"{folder}: no drift detector for {model} {version} ({METADATA_FILE} missing or "
                           "unreadable); build it with `shipyard drift build`") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("features"), list):
            raise BadInput(f"{folder / METADATA_FILE}: names no features; rebuild it with `shipyard drift build`")
        features = [str(f) for f in meta["features"]]
        rows = batch.rows
        if batch.names is not None:
            missing = [f for f in features if f not in batch.names]
            if missing:
                raise BadInput(f"requests to {predictor} name {batch.names}, without {missing}")
            rows = [[row[batch.names.index(f)] for f in features] for row in rows]
        bad = next((row for row in rows if len(row) != len(features)), None)
        if bad is not None:
            raise BadInput(f"a request to {predictor} has {len(bad)} features, the detector of {version} "
                           f"{len(features)} ({', '.join(features)})")
        # imported only now: alibi-detect takes seconds to import, bad input is told at once
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        import numpy as np  # type: ignore[import-not-found]  # .venv-drift only
        from alibi_detect.saving import load_detector  # type: ignore[import-not-found]

        detector = load_detector(str(folder))
        result = detector.predict(np.asarray(rows, dtype=np.float32), drift_type="batch", return_p_val=True)["data"]
        for feature, p_value in zip(features, np.atleast_1d(result["p_val"])):
            samples["shipyard_drift_p_value"].append(
                f"shipyard_drift_p_value{_labels(**labels, feature=feature)} {_value(float(p_value))}")
        samples["shipyard_drift_detected"].append(f"shipyard_drift_detected{_labels(**labels)} {int(result['is_drift'])}")
        samples["shipyard_drift_threshold"].append(
            f"shipyard_drift_threshold{_labels(**labels)} {_value(float(result['threshold']))}")
    lines = []
    for name, help_text in METRICS.items():
        if samples[name]:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples[name]]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def push(url: str, deployment: str, text: str) -> None:
    """PUT replaces the whole group: a predictor that is gone loses its series."""
    target = f"{url.rstrip('/')}/metrics/job/{PUSH_JOB}/deployment/{deployment}"
    request = urllib.request.Request(target, data=text.encode("utf-8"), method="PUT",
                                     headers={"Content-Type": "text/plain; version=0.0.4"})
    with urllib.request.urlopen(request, timeout=30):
        pass


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=Path, required=True, help="folder of logged requests (CloudEvents JSON)")
    parser.add_argument("--detectors", type=Path, required=True, help="folder with one detector folder per version")
    parser.add_argument("--deployment", required=True, help="the SeldonDeployment whose requests are judged")
    parser.add_argument("--model", required=True, help="the model (the model label of the metrics)")
    parser.add_argument("--namespace", default="models", help="the SeldonDeployment's namespace (--prometheus)")
    parser.add_argument("--predictor-version", action="append", default=[], metavar="PREDICTOR=VERSION",
                        help="the version a predictor runs (repeat)")
    parser.add_argument("--prometheus", metavar="URL",
                        help="read the predictors' versions from the executor's metrics in this Prometheus")
    parser.add_argument("--min-instances", type=int, default=100, help="fewest instances judged (default 100)")
    parser.add_argument("--out", type=Path, help="write the metrics here (default: stdout)")
    parser.add_argument("--pushgateway", help="also PUT the metrics to this Pushgateway URL")
    args = parser.parse_args(argv)
    try:
        versions: dict[str, str] = {}
        for item in args.predictor_version:
            name, sep, version = item.partition("=")
            if not sep or not name or not version:
                raise BadInput(f"--predictor-version {item!r}: want PREDICTOR=VERSION, e.g. default=1.0.0")
            versions[name] = version
        if args.prometheus:
            try:
                versions = {**prometheus_versions(args.prometheus, args.deployment, args.namespace), **versions}
            except (OSError, KeyError, IndexError, TypeError, ValueError) as exc:
                raise BadInput(f"cannot read the versions of {args.deployment} from {args.prometheus}: {exc}") from None
        batches = read_requests(args.requests, args.deployment)
        text = judge(batches, args.detectors, versions, deployment=args.deployment, model=args.model,
                     min_instances=args.min_instances, now=time.time(), skip_unknown=bool(args.prometheus))
    except BadInput as exc:
        _fail(str(exc))
    if args.out:
        write_atomically(args.out, text)
    else:
        sys.stdout.write(text)
    if args.pushgateway:
        try:
            push(args.pushgateway, args.deployment, text)
        except (OSError, urllib.error.URLError) as exc:
            print(f"error: cannot push to {args.pushgateway}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
