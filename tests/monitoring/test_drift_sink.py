"""The request-log sink (tools/shipyard/drift/sink.py) between seldon-core's
executor and the drift CronJob, end to end on loopback.

The events are POSTed the way seldon-core 1.17.1's executor posts them:
executor/logger/worker.go sendCloudEvent (extensions modelid, requestid,
inferenceservicename, namespace, endpoint, protocol; the request bytes as
data, the request's Content-Type), sent by cloudevents/sdk-go v1.2.0 in
binary mode (pkg/cloudevents/transport/http/codec_v1.go toHeaders: ce-*
headers, which Go's http.Header.Set canonicalises to Ce-Specversion,
Ce-Inferenceservicename...; message.go ToRequest: always POST), with what
executor/predictor/predictor_process.go logPayload gives it (Id a fresh
uuid, SourceUri http://<pod>:8000/, ModelId the graph node, RequestId the
puid). Seldon protocol and V2 bodies.

The store is a real S3 API (`rclone serve s3`); the sink writes with the
RCLONE_CONFIG_S3_* variables the model store's Secret holds; the requests
and the detector are fetched back the way the CronJob's init containers do
(`rclone copy [--max-age 1h]`), and the real job.py with the real
alibi-detect (.venv-drift) judges them.
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from urllib.parse import urlsplit

import pytest
import yaml

from shipyard import envs
from shipyard.drift import sink as drift_sink
from shipyard.drift.detector import JOB_SCRIPT
from shipyard.monitoring.promtool import Promtool
from shipyard.repo import Repository
from shipyard.serving.server import free_port
from shipyard.targets import build_folder

from iris_drift_sample import SAMPLE_SCRIPT

sidecar = pytest.mark.sidecar_env

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
SHIPYARD = str(ROOT / ".venv" / "bin" / "shipyard")
BUCKET, ACCESS_KEY, SECRET_KEY = "shipyard-models", "sink-test", "loopback-only-secret"


@dataclass(frozen=True)
class S3:
    endpoint: str
    root: Path
    rclone: Path

    def secret_env(self) -> dict[str, str]:
        """What the model-store-credentials Secret gives a pod (docs/registry.md)."""
        return {"RCLONE_CONFIG_S3_TYPE": "s3", "RCLONE_CONFIG_S3_PROVIDER": "Other",
                "RCLONE_CONFIG_S3_ENV_AUTH": "false", "RCLONE_CONFIG_S3_ACCESS_KEY_ID": ACCESS_KEY,
                "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": SECRET_KEY, "RCLONE_CONFIG_S3_ENDPOINT": self.endpoint}

    def env(self) -> dict[str, str]:
        import os

        base = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "AWS_", "SHIPYARD_MODEL_STORE"))}
        return {**base, **self.secret_env()}

    def copy(self, *args: str) -> None:
        """The storage initializer's `rclone copy`, as the CronJob's init containers run it."""
        subprocess.run([str(self.rclone), "--config", "", "copy", *args], env=self.env(), check=True,
                       capture_output=True, timeout=60)

    def objects(self, prefix: str) -> list[Path]:
        folder = self.root / BUCKET / prefix
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _wait_port(proc: subprocess.Popen[bytes], port: int, log: Path, seconds: float = 30) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}: {log.read_text()}"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3]:
    rclone = envs.ensure("rclone", envs.toolkit_root()).env.bin("rclone")
    root = tmp_path_factory.mktemp("s3")
    (root / BUCKET).mkdir()
    port, log = free_port(), root.parent / "rclone-serve-s3.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(rclone), "serve", "s3", "--config", "", "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}",
                                 "--addr", f"127.0.0.1:{port}", str(root)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_port(proc, port, log)
        yield S3(f"http://127.0.0.1:{port}", root, rclone)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class SinkProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def post(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def metrics(self) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            assert response.status == 200
            return response.read().decode()
        finally:
            connection.close()

    def sample(self, name: str, **labels: str) -> float:
        text = self.metrics()
        want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
        hits = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.rsplit(" ", 1)[0] == want]
        return float(hits[0]) if hits else 0.0

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def start_sink(s3: S3, store: str, folder: Path, *extra: str, env: dict[str, str] | None = None) -> SinkProcess:
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"sink-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([PYTHON, "-m", "shipyard.drift.sink", "--store", store, "--model", "iris",
                                 "--namespace", "models", "--host", "127.0.0.1", "--port", str(port),
                                 "--rclone", str(s3.rclone), "--spool", str(folder / "spool"), *extra],
                                env=env or s3.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    _wait_port(proc, port, log)
    return SinkProcess(proc, port, log)


def executor_event(body: Any, *, predictor: str, protocol: str, kind: str = "io.seldon.serving.inference.request",
                   deployment: str = "iris", content_type: str = "application/json") -> tuple[dict[str, str], bytes]:
    """Headers and body of one POST of the executor's logger worker (see the module docstring)."""
    puid = str(uuid.uuid4())
    headers = {
        "User-Agent": "Go-http-client/1.1",
        "Ce-Specversion": "1.0",
        "Ce-Type": kind,
        "Ce-Source": f"http://{deployment}-{predictor}-0-classifier-7d9f8c6b5-x2x4z:8000/",
        "Ce-Id": str(uuid.uuid4()),
        "Ce-Time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "Content-Type": content_type,
        "Ce-Modelid": "classifier",
        "Ce-Requestid": puid,
        "Ce-Inferenceservicename": deployment,
        "Ce-Namespace": "models",
        "Ce-Endpoint": predictor,
        "Ce-Protocol": protocol,
        "Accept-Encoding": "gzip",
    }
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return headers, data


def seldon_body(rows: list[list[float]]) -> dict[str, Any]:
    return {"data": {"names": ["sepal_length", "sepal_width", "petal_length", "petal_width"], "ndarray": rows}}


def v2_body(rows: list[list[float]]) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "inputs": [{"name": "predict", "shape": [len(rows), 4], "datatype": "FP64",
                                                 "data": [v for r in rows for v in r]}]}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    drift = envs.ensure("drift", envs.toolkit_root()).env
    folder = tmp_path_factory.mktemp("iris")
    train, held_out = folder / "train.csv", folder / "held_out.json"
    subprocess.run([str(drift.python), "-c", SAMPLE_SCRIPT, str(train), str(held_out)], check=True, timeout=120)
    rows = json.loads(held_out.read_text())
    return {"folder": folder, "train": train, "held_out": rows,
            "shifted": [[a, b, c + 1.0, d + 0.4] for a, b, c, d in rows], "drift": drift}


@pytest.fixture(scope="module")
def published(s3: S3, samples: dict[str, Any]) -> str:
    """A store of this module's own, holding iris 1.0.0's detector as `shipyard drift build` publishes it."""
    store = f"s3://{BUCKET}/{uuid.uuid4().hex[:10]}"
    done = subprocess.run([SHIPYARD, "drift", "build", "iris", "--version", "1.0.0", "--reference",
                           str(samples["train"]), "--store", store, "--repo", str(ROOT)],
                          env=s3.env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return store


PREDICTORS = {  # predictor: (protocol, which rows) -- every pairing of protocol and verdict
    "default": ("seldon", "held_out"),
    "canary": ("v2", "shifted"),
    "seldon-shifted": ("seldon", "shifted"),
    "v2-held-out": ("v2", "held_out"),
}
MALFORMED: list[tuple[str, dict[str, str | None], bytes | None, int]] = [
    # (what, header changes (None: header left out), body (None: a good one), status)
    ("no ce-type", {"Ce-Type": None}, None, 400),
    ("ce-specversion 0.3", {"Ce-Specversion": "0.3"}, None, 400),
    ("a type the executor never sends", {"Ce-Type": "com.example.other"}, None, 400),
    ("another SeldonDeployment", {"Ce-Inferenceservicename": "other"}, None, 400),
    ("another namespace", {"Ce-Namespace": "elsewhere"}, None, 400),
    ("no predictor", {"Ce-Endpoint": None}, None, 400),
    ("a predictor name that is a path", {"Ce-Endpoint": "../../drift"}, None, 400),
    ("gRPC's protobuf", {"Content-Type": "application/protobuf"}, b"\x0a\x04\x08\x01", 415),
    ("a body that is not JSON", {}, b'{"data": {"ndarray": [[1, 2, 3, 4]]', 400),
    ("NaN", {}, b'{"data": {"ndarray": [[NaN, 2, 3, 4]]}}', 400),
    ("strings as features", {}, b'{"data": {"ndarray": [["a", 2, 3, 4]]}}', 400),
    ("jsonData, which the check cannot read", {}, b'{"jsonData": {"x": 1}}', 400),
    ("a V2 request with two inputs", {"Ce-Protocol": "v2"},
     json.dumps({"inputs": [{"name": "a", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}] * 2}).encode(),
     400),
    ("a body over --max-body-bytes", {}, json.dumps(seldon_body([[1.0, 2.0, 3.0, 4.0]] * 4000)).encode(), 413),
]


@pytest.fixture(scope="module")
def logged(s3: S3, published: str, samples: dict[str, Any]) -> dict[str, Any]:
    """One sink taking every kind of event, malformed ones among the good; then the CronJob's steps."""
    sink = start_sink(s3, published, samples["folder"] / "sink", "--flush-seconds", "1", "--flush-instances", "25",
                      "--max-body-bytes", "65536")
    answers: dict[str, tuple[int, str]] = {}
    try:
        bad = iter(MALFORMED)
        for predictor, (protocol, which) in PREDICTORS.items():
            rows = samples[which]
            # the seldon predictors one request per instance, the V2 ones in fives
            step = 1 if protocol == "seldon" else 5
            for i in range(0, len(rows), step):
                body = (seldon_body if protocol == "seldon" else v2_body)(rows[i:i + step])
                status, text = sink.post(*executor_event(body, predictor=predictor, protocol=protocol))
                assert status == 200, text
                case = next(bad, None)
                if case is not None:  # the server keeps working between malformed events
                    what, changes, raw, _ = case
                    headers, good = executor_event(seldon_body([[5.0, 3.0, 1.5, 0.2]]), predictor="default",
                                                   protocol="seldon")
                    for key, value in changes.items():
                        headers.pop(key, None)
                        if value is not None:
                            headers[key] = value
                    answers[what] = sink.post(headers, good if raw is None else raw)
        # mode all: responses and feedback are answered, not kept
        for kind in ("io.seldon.serving.inference.response", "io.seldon.serving.feedback"):
            answers[kind] = sink.post(*executor_event({"data": {"ndarray": [[0.9, 0.05, 0.05]]}}, predictor="default",
                                                      protocol="seldon", kind=kind))
        expected = sum(len(samples[which]) for _, which in PREDICTORS.values())
        deadline = time.monotonic() + 60
        while sum(sink.sample("shipyard_drift_sink_instances_written_total", predictor=p) for p in PREDICTORS) < expected:
            assert time.monotonic() < deadline, sink.log.read_text()
            time.sleep(0.2)
        metrics = sink.metrics()
    finally:
        code = sink.stop()
    assert code == 0, sink.log.read_text()
    # the CronJob: fetch-requests (--max-age 1h), fetch-detectors, check
    folder = samples["folder"] / "cronjob"
    s3.copy("--max-age", "1h", f"{published}/iris/requests", str(folder / "requests"))
    s3.copy(f"{published}/iris/drift", str(folder / "detectors"))
    argv = ["--requests", str(folder / "requests"), "--detectors", str(folder / "detectors"), "--deployment", "iris",
            "--model", "iris", "--min-instances", "20"]
    for predictor in PREDICTORS:
        argv += ["--predictor-version", f"{predictor}=1.0.0"]
    job = subprocess.run([str(samples["drift"].python), str(JOB_SCRIPT), *argv], capture_output=True, text=True,
                         timeout=300)
    return {"answers": answers, "metrics": metrics, "job": job, "folder": folder, "store": published,
            "log": sink.log.read_text(), "expected": expected}


def _value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} {labels} in\n{text}")


@sidecar
def test_the_drift_job_judges_what_the_sink_wrote(logged: dict[str, Any]) -> None:
    job = logged["job"]
    assert job.returncode == 0, job.stderr
    for predictor, (_protocol, which) in PREDICTORS.items():
        series = {"deployment_name": "iris", "predictor_name": predictor, "predictor_version": "1.0.0"}
        assert _value(job.stdout, "shipyard_drift_instances", **series) == 30, predictor
        want = 1 if which == "shifted" else 0
        assert _value(job.stdout, "shipyard_drift_detected", **series) == want, (predictor, job.stdout)
    # the shifted features, not the others
    assert _value(job.stdout, "shipyard_drift_p_value", predictor_name="canary", feature="petal_length") < 0.05 / 4
    assert _value(job.stdout, "shipyard_drift_p_value", predictor_name="canary", feature="sepal_width") > 0.05 / 4


@sidecar
def test_the_store_holds_batches_per_predictor_in_cloudevents_json(logged: dict[str, Any], s3: S3) -> None:
    prefix = logged["store"].removeprefix(f"s3://{BUCKET}/") + "/iris/requests"
    files = s3.objects(prefix)
    assert files and all(f.suffix == ".jsonl" for f in files)
    by_predictor: dict[str, int] = {}
    for path in files:
        predictor, day = path.relative_to(s3.root / BUCKET / prefix).parts[:2]
        written = path.stat().st_mtime  # the day the batch was cut, at most a flush before it was written
        assert day in {time.strftime("%Y-%m-%d", time.gmtime(t)) for t in (written, written - 120)}
        for line in path.read_text().splitlines():
            event = json.loads(line)
            assert event["type"] == "io.seldon.serving.inference.request"
            assert event["endpoint"] == predictor and event["inferenceservicename"] == "iris"
            assert event["namespace"] == "models" and event["modelid"] == "classifier"
            assert event["protocol"] == PREDICTORS[predictor][0]
            assert event["specversion"] == "1.0" and event["source"].startswith("http://iris-")
            assert isinstance(event["data"], dict)  # the request body itself, as JSON
            by_predictor[predictor] = by_predictor.get(predictor, 0) + 1
    assert by_predictor == {"default": 30, "canary": 6, "seldon-shifted": 30, "v2-held-out": 6}
    # batched: at most --flush-instances (25) instances (plus one request's) per file, not a file per event
    assert len(files) < sum(by_predictor.values()) / 2


@sidecar
def test_malformed_events_are_refused_and_counted(logged: dict[str, Any]) -> None:
    answers = logged["answers"]
    for what, _changes, _body, status in MALFORMED:
        assert answers[what][0] == status, (what, answers[what])
    assert "ce-type" in answers["no ce-type"][1]
    assert "SeldonDeployment 'iris'" in answers["another SeldonDeployment"][1]
    assert "protobuf" in answers["gRPC's protobuf"][1]
    assert "want numbers" in answers["strings as features"][1]
    for kind in ("io.seldon.serving.inference.response", "io.seldon.serving.feedback"):
        assert answers[kind][0] == 200 and "not kept" in answers[kind][1]
    metrics = logged["metrics"]
    rejected = {r: _value(metrics, "shipyard_drift_sink_events_rejected_total", reason=r)
                for r in ("not_cloudevent", "type", "deployment", "not_json", "body", "too_large")}
    assert rejected == {"not_cloudevent": 4, "type": 1, "deployment": 2, "not_json": 3, "body": 3, "too_large": 1}
    assert _value(metrics, "shipyard_drift_sink_events_received_total",
                  type="io.seldon.serving.inference.response") == 1
    requests = _value(metrics, "shipyard_drift_sink_events_received_total", type="io.seldon.serving.inference.request")
    assert requests == 72 + 10  # 72 good ones, and the malformed ones that got as far as their type
    assert "Traceback" not in logged["log"]


@sidecar
def test_the_sinks_metrics_are_valid_prometheus_text(logged: dict[str, Any], promtool: Promtool) -> None:
    check = subprocess.run([promtool.path, "check", "metrics"], input=logged["metrics"], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert _value(logged["metrics"], "shipyard_drift_sink_instances_written_total", predictor="canary") == 30
    assert "shipyard_drift_sink_pending_instances 0" in logged["metrics"]


@sidecar
def test_sigterm_writes_what_is_buffered(s3: S3, published: str, samples: dict[str, Any]) -> None:
    store = f"{published}-sigterm"
    sink = start_sink(s3, store, samples["folder"] / "sigterm", "--flush-seconds", "3600",
                      "--flush-instances", "100000")
    rows = samples["held_out"][:4]
    for row in rows[:3]:
        assert sink.post(*executor_event(seldon_body([row]), predictor="default", protocol="seldon"))[0] == 200
    # the structured mode too (what a broker in between may forward): the attributes in the body
    headers, body = executor_event(seldon_body([rows[3]]), predictor="default", protocol="seldon")
    structured = {k[3:].lower(): v for k, v in headers.items() if k.startswith("Ce-")}
    structured.update(datacontenttype="application/json", data=json.loads(body))
    json_ce = {"Content-Type": "application/cloudevents+json; charset=utf-8"}
    assert sink.post(json_ce, json.dumps(structured).encode())[0] == 200
    with_nan = json.dumps(structured).replace(json.dumps([rows[3]]), "[[NaN, 2.3, 3.3, 1.0]]")
    assert "NaN" in with_nan
    status, text = sink.post(json_ce, with_nan.encode())
    assert status == 400 and "NaN is not a JSON number" in text
    time.sleep(1.0)
    prefix = store.removeprefix(f"s3://{BUCKET}/") + "/iris/requests"
    assert s3.objects(prefix) == []  # nothing is due yet
    assert sink.sample("shipyard_drift_sink_pending_instances") == 4
    assert sink.stop() == 0, sink.log.read_text()
    (batch,) = s3.objects(prefix)
    kept = [json.loads(line)["data"]["data"]["ndarray"][0] for line in batch.read_text().splitlines()]
    assert kept == rows
    assert "SIGTERM" in sink.log.read_text() and "every kept event is written" in sink.log.read_text()


@sidecar
def test_an_unreachable_store_bounds_the_backlog_and_says_what_is_lost(s3: S3, samples: dict[str, Any]) -> None:
    env = {**s3.env(), "RCLONE_CONFIG_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",  # nobody listens
           "RCLONE_LOW_LEVEL_RETRIES": "1"}
    sink = start_sink(s3, f"s3://{BUCKET}/unreachable", samples["folder"] / "unreachable", "--flush-seconds", "0.5",
                      "--max-pending-bytes", "3000", env=env)
    statuses = [sink.post(*executor_event(seldon_body([row]), predictor="default", protocol="seldon"))[0]
                for row in samples["held_out"][:20]]
    assert statuses[0] == 200 and statuses[-1] == 503  # accepted until the backlog is full, then refused
    deadline = time.monotonic() + 60
    while sink.sample("shipyard_drift_sink_write_errors_total") < 1:
        assert time.monotonic() < deadline, sink.log.read_text()
        time.sleep(0.2)
    assert sink.sample("shipyard_drift_sink_events_dropped_total") == statuses.count(503)
    assert 0 < sink.sample("shipyard_drift_sink_pending_bytes") <= 3000
    assert sink.stop() == 1
    log = sink.log.read_text()
    assert f"{statuses.count(200)} events could not be written" in log and "Traceback" not in log


def test_bad_arguments_are_told_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([PYTHON, "-m", "shipyard.drift.sink", "--model", "iris", "--store",
                           "s3://AKIAIOSFODNN7EXAMPLE:secret@bucket"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "carries" in done.stderr
    done = subprocess.run([PYTHON, "-m", "shipyard.drift.sink", "--model", "iris", "--store", str(tmp_path),
                           "--flush-seconds", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--flush-seconds must be positive" in done.stderr



MONITORING = ROOT / "models" / "iris" / "monitoring"


def test_the_manifests_agree_with_shipyard_yaml_the_logger_and_the_cronjob() -> None:
    """request-sink.yaml is written by hand: this keeps its store, Secret, image, Service, port and
    policy one fact with shipyard.yaml, the predictors' logger url and the drift CronJob."""
    store = Repository.load(ROOT).settings.model_store
    assert store is not None
    kustomization = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    assert "request-sink.yaml" in kustomization["resources"]
    namespace = kustomization["namespace"]
    docs = {d["kind"]: d for d in yaml.safe_load_all((MONITORING / "request-sink.yaml").read_text()) if d}
    deployment, service, policy = docs["Deployment"], docs["Service"], docs["NetworkPolicy"]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["python", "-m", "shipyard.drift.sink"]
    args = drift_sink.build_parser().parse_args(container["args"])
    assert (args.store, args.model, args.deployment, args.namespace) == (store.uri, "iris", "iris", namespace)
    assert [e["secretRef"]["name"] for e in container["envFrom"]] == [store.secret_name]
    cron = {d["kind"]: d for d in yaml.safe_load_all((MONITORING / "drift.yaml").read_text()) if d}["CronJob"]
    (check,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == check["image"]
    (port,) = container["ports"]
    assert port["containerPort"] == args.port
    labels = pod["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in (port["name"], port["containerPort"])
    repo = Repository.load(ROOT)
    for env in ("dev", "staging", "production"):
        # as each environment deploys it: the request-logging Component where the sink is deployed
        built = build_folder(repo, ROOT / "overlays" / env / "models" / "iris")
        (sdep,) = [o for o in built if o["kind"] == "SeldonDeployment"]
        sink_here = any(o["kind"] == "Deployment" and o["metadata"]["name"] == service["metadata"]["name"]
                        for o in built)
        assert sink_here == (env in repo.settings.monitored), env
        for predictor in sdep["spec"]["predictors"]:
            logger = predictor["graph"].get("logger")
            if not sink_here:
                assert logger is None, f"{env}: a logger with no sink to receive it"
                continue
            assert logger["mode"] in ("request", "all")
            url = urlsplit(logger["url"])
            assert url.scheme == "http" and url.hostname == f"{service['metadata']['name']}.{namespace}.svc.cluster.local"
            assert url.port == service_port["port"]
    (ingress,) = policy["spec"]["ingress"]
    assert {"protocol": "TCP", "port": args.port} in ingress["ports"]
    # Seldon labels every pod of a SeldonDeployment, each predictor's, with seldon-deployment-id
    assert {"podSelector": {"matchLabels": {"seldon-deployment-id": sdep["metadata"]["name"]}}} in ingress["from"]
    probes = [container[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe")]
    assert probes == ["/healthz", "/healthz"]
