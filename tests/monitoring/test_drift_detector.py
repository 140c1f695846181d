"""Drift detection with the real alibi-detect (.venv-drift) on the iris data.

The reference sample is the iris pipeline's own training split (sklearn's
iris, stratified 80/20 with seed 42, as pipelines/iris/pipeline.py
preprocess makes it). The detector is built the way the pipeline's drift
step builds it (`shipyard drift build`), and the drift check the CronJob
runs (tools/shipyard/drift/job.py) judges folders of logged requests in the
format seldon-core 1.17.1's request logger writes (CloudEvents, type
io.seldon.serving.inference.request, extensions inferenceservicename and
endpoint): the held-out split is not drift, the same rows with longer petals
are. The p-values are checked against scipy's KS test computed separately,
and the metrics text against the real `promtool check metrics`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from shipyard import envs
from shipyard.drift import metrics as drift_metrics
from shipyard.drift.detector import JOB_SCRIPT
from shipyard.drift.publish import publish_detector
from shipyard.errors import ShipyardError
from shipyard.monitoring.prometheus import PrometheusError, query, query_number
from shipyard.monitoring.promtool import Promtool, RuleFile, prometheus_rules, rule_groups
from shipyard.repo import Repository
from shipyard.serving.server import free_port
from shipyard.serving.store import ModelStore

from iris_drift_sample import SAMPLE_SCRIPT

pytestmark = pytest.mark.sidecar_env

ROOT = Path(__file__).resolve().parents[2]
SHIPYARD = str(ROOT / ".venv" / "bin" / "shipyard")
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def drift_env() -> envs.SideEnv:
    return envs.ensure("drift", envs.toolkit_root()).env


def _python(env: envs.SideEnv, script: str, *args: str) -> str:
    done = subprocess.run([str(env.python), "-c", script, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def samples(drift_env: envs.SideEnv, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """train.csv (the reference), the held-out rows, and those rows with longer, wider petals."""
    folder = tmp_path_factory.mktemp("iris")
    train, held_out = folder / "train.csv", folder / "held_out.json"
    _python(drift_env, SAMPLE_SCRIPT, str(train), str(held_out))
    rows = json.loads(held_out.read_text())
    shifted = [[a, b, c + 1.0, d + 0.4] for a, b, c, d in rows]
    (folder / "shifted.json").write_text(json.dumps(shifted))
    reference = [[float(v) for v in line.split(",")[:4]] for line in train.read_text().splitlines()[1:]]
    return {"folder": folder, "train": train, "held_out": rows, "shifted": shifted, "reference": reference}


@pytest.fixture(scope="module")
def detectors(samples: dict[str, Any]) -> Path:
    """<folder>/1.0.0: the detector `shipyard drift build` writes for iris."""
    folder = samples["folder"] / "detectors"
    done = subprocess.run([SHIPYARD, "drift", "build", "iris", "--version", "1.0.0", "--reference", str(samples["train"]),
                           "--out", str(folder / "1.0.0"), "--format", "json", "--repo", str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    built = json.loads(done.stdout)
    assert built["kind"] == "KSDrift" and built["pValue"] == 0.05 and built["features"] == FEATURES
    assert built["referenceRows"] == 120
    assert sorted(p.name for p in (folder / "1.0.0").iterdir()) == ["config.toml", "shipyard-drift.json", "x_ref.npy"]
    return folder


def cloud_event(rows: list[list[float]], *, predictor: str = "default", deployment: str = "iris",
                kind: str = "io.seldon.serving.inference.request", body: Any = None) -> dict[str, Any]:
    """One logged request as the executor's logger describes it (logger/worker.go sendCloudEvent), in
    the CloudEvents JSON format."""
    request_id = str(uuid.uuid4())
    return {
        "specversion": "1.0", "id": request_id, "type": kind,
        "source": f"http://{deployment}-{predictor}.models.svc.cluster.local:8000/",
        "datacontenttype": "application/json",
        "modelid": "classifier", "requestid": request_id, "inferenceservicename": deployment,
        "namespace": "models", "endpoint": predictor, "protocol": "seldon",
        "data": body if body is not None else {"data": {"ndarray": rows}},
    }


def write_log(folder: Path, events: list[dict[str, Any]], *, one_file_each: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if one_file_each:
        for event in events:
            (folder / f"{event['id']}.json").write_text(json.dumps(event))
    else:
        (folder / "requests.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return folder


def job_argv(requests: Path, detectors: Path, *extra: str) -> list[str]:
    return ["--requests", str(requests), "--detectors", str(detectors), "--deployment", "iris", "--model", "iris",
            "--predictor-version", "default=1.0.0", "--min-instances", "20", *extra]


def run_job(env: envs.SideEnv, requests: Path, detectors: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """job.py as the CronJob runs it: its own process (the cases that stop before alibi-detect is imported)."""
    return subprocess.run([str(env.python), str(JOB_SCRIPT), *job_argv(requests, detectors, *extra)],
                          capture_output=True, text=True, timeout=120)


# alibi-detect takes seconds to import (scipy.stats, scikit-learn, pandas, numba): the cases that need a
# verdict run job.py's entry point, main(), one after the other in one .venv-drift process, and scipy's
# KS test for the expected p-values in the same process.
DRIVER = """
import contextlib, csv, io, json, sys
sys.path.insert(0, sys.argv[1])
import job
import numpy as np
from scipy.stats import ks_2samp
spec = json.load(open(sys.argv[2]))
out = {}
for name, argv in spec["cases"].items():
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = job.main(argv)
        except SystemExit as exc:
            code = exc.code
    out[name] = {"code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}
for name, case in spec.get("judge", {}).items():
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        text = job.judge(job.read_requests(job.Path(case["requests"]), "iris"), job.Path(case["detectors"]),
                         case["versions"], deployment="iris", model="iris", min_instances=20, now=0.0,
                         skip_unknown=True)
    out[name] = {"stdout": text, "stderr": stderr.getvalue()}
ref = np.array([[float(v) for v in r[:4]] for r in list(csv.reader(open(spec["train"])))[1:]], dtype=np.float32)
for name, rows in spec["ks"].items():
    x = np.array(rows, dtype=np.float32)
    out[name] = [float(ks_2samp(ref[:, i], x[:, i], method="asymp").pvalue) for i in range(4)]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def runs(drift_env: envs.SideEnv, samples: dict[str, Any], detectors: Path) -> dict[str, Any]:
    folder = samples["folder"] / "runs"
    held_out, shifted = samples["held_out"], samples["shifted"]
    # one request per instance, one file per request
    plain = write_log(folder / "held-out", [cloud_event([row]) for row in held_out], one_file_each=True)
    both = write_log(folder / "two-predictors", [
        cloud_event(shifted, predictor="canary"), cloud_event(held_out),
        # skipped: a response, and a request to another deployment
        cloud_event([[1.0, 1.0, 1.0, 1.0]], kind="io.seldon.serving.inference.response"),
        cloud_event([[1.0, 1.0]], deployment="other")])
    reordered = ["petal_width", "petal_length", "sepal_width", "sepal_length"]
    tensor = {"data": {"names": reordered,
                       "tensor": {"shape": [len(held_out), 4], "values": [v for r in held_out for v in reversed(r)]}}}
    v2 = {"inputs": [{"name": "predict", "shape": [3, 4], "datatype": "FP32",
                      "data": [v for r in held_out[:3] for v in r]}]}
    formats = write_log(folder / "formats", [cloud_event([], body=tensor), cloud_event([], predictor="canary", body=v2)])
    # batches of five instances in a JSON-lines log, as a sink that appends would keep them
    batches = write_log(folder / "shifted", [cloud_event(shifted[i:i + 5]) for i in range(0, len(shifted), 5)])
    # the reference sample itself, as requests: the least drift there can be
    reference = write_log(folder / "reference", [cloud_event(samples["reference"])])
    spec = {
        "train": str(samples["train"]),
        "judge": {"canary_gone": {"requests": str(both), "detectors": str(detectors),
                                  "versions": {"default": "1.0.0"}}},
        "cases": {
            "held_out": job_argv(plain, detectors),
            "two_predictors": job_argv(both, detectors, "--predictor-version", "canary=1.0.0"),
            "formats": job_argv(formats, detectors, "--predictor-version", "canary=1.0.0"),
            "shifted": job_argv(batches, detectors, "--out", str(folder / "metrics" / "drift.prom")),
            "reference": job_argv(reference, detectors),
        },
        "ks": {"ks_held_out": held_out, "ks_shifted": shifted},
    }
    (folder / "spec.json").write_text(json.dumps(spec))
    result = json.loads(_python(drift_env, DRIVER, str(JOB_SCRIPT.parent), str(folder / "spec.json")))
    for name in spec["cases"]:
        assert result[name]["code"] == 0, result[name]["stderr"]
    result["shifted"]["file"] = (folder / "metrics" / "drift.prom").read_text()
    return dict(result)


SAMPLE = re.compile(r'^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    found = []
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, line
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        found.append((match["name"], labels, float(match["value"])))
    return found


def value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    (hit,) = [v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items())]
    return hit


def test_held_out_requests_are_not_drift(runs: dict[str, Any]) -> None:
    found = parse_metrics(runs["held_out"]["stdout"])
    series = {"deployment_name": "iris", "model": "iris", "predictor_name": "default", "predictor_version": "1.0.0"}
    assert value(found, "shipyard_drift_detected", **series) == 0
    assert value(found, "shipyard_drift_instances", **series) == 30
    assert value(found, "shipyard_drift_threshold", **series) == pytest.approx(0.05 / 4)
    for feature, want in zip(FEATURES, runs["ks_held_out"]):
        got = value(found, "shipyard_drift_p_value", **series, feature=feature)
        assert got == pytest.approx(want, rel=1e-4)
        assert got > 0.05 / 4, f"{feature}: p={got} on the held-out split"


def test_the_reference_sample_itself_is_not_drift(runs: dict[str, Any]) -> None:
    found = parse_metrics(runs["reference"]["stdout"])
    assert value(found, "shipyard_drift_detected", predictor_name="default") == 0
    assert value(found, "shipyard_drift_instances", predictor_name="default") == 120
    for feature in FEATURES:  # the same sample on both sides: KS statistic 0, p-value 1
        assert value(found, "shipyard_drift_p_value", predictor_name="default", feature=feature) == pytest.approx(1.0)


def test_a_predictor_that_is_gone_is_left_out_not_fatal(runs: dict[str, Any]) -> None:
    """Versions from Prometheus: the canary's requests are still in the logs' window after it was
    removed; the stable predictor still gets its verdict."""
    found = parse_metrics(runs["canary_gone"]["stdout"])
    assert {ls["predictor_name"] for _, ls, _ in found} == {"default"}
    assert value(found, "shipyard_drift_detected", predictor_name="default") == 0
    assert "predictor 'canary', which Prometheus says serves no version now" in runs["canary_gone"]["stderr"]


def test_shifted_requests_are_drift(runs: dict[str, Any]) -> None:
    assert runs["shifted"]["stdout"] == ""  # --out: the metrics went to the file
    found = parse_metrics(runs["shifted"]["file"])
    series = {"predictor_name": "default", "predictor_version": "1.0.0"}
    assert value(found, "shipyard_drift_detected", **series) == 1
    p = {f: value(found, "shipyard_drift_p_value", **series, feature=f) for f in FEATURES}
    for feature, want in zip(FEATURES, runs["ks_shifted"]):
        assert p[feature] == pytest.approx(want, rel=1e-4)
    assert p["petal_length"] < 0.05 / 4 and p["petal_width"] < 0.05 / 4
    assert p["sepal_length"] > 0.05 / 4 and p["sepal_width"] > 0.05 / 4  # untouched features do not drift


def test_metrics_are_valid_prometheus_text_with_the_declared_names(runs: dict[str, Any], promtool: Promtool) -> None:
    text = runs["two_predictors"]["stdout"]
    check = subprocess.run([promtool.path, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    declared = drift_metrics.series()
    found = parse_metrics(text)
    for name, labels, _ in found:
        assert name in declared, name
        assert sorted(labels) == sorted(declared[name]), (name, labels)
    assert {ls["predictor_name"] for _, ls, _ in found} == {"default", "canary"}
    assert value(found, "shipyard_drift_detected", predictor_name="canary") == 1
    assert value(found, "shipyard_drift_detected", predictor_name="default") == 0


def test_other_request_formats_and_too_few_instances(runs: dict[str, Any]) -> None:
    found = parse_metrics(runs["formats"]["stdout"])
    # names put the columns back in the detector's order: the held-out rows again, no drift
    assert value(found, "shipyard_drift_detected", predictor_name="default") == 0
    assert value(found, "shipyard_drift_p_value", predictor_name="default", feature="petal_length") == \
        value(parse_metrics(runs["held_out"]["stdout"]), "shipyard_drift_p_value", feature="petal_length")
    # three instances: counted, no verdict on so little
    assert value(found, "shipyard_drift_instances", predictor_name="canary") == 3
    assert not [n for n, ls, _ in found if ls.get("predictor_name") == "canary" and n == "shipyard_drift_detected"]
    assert value(found, "shipyard_drift_last_run_timestamp_seconds", predictor_name="canary") > 1.7e9


@pytest.mark.parametrize(("content", "message"), [
    ('{"type": "io.seldon.serving.inference.request", "inferenceservicename": "iris"\n', r"requests\.jsonl:1: not a JSON CloudEvent"),
    (json.dumps({"type": "io.seldon.serving.inference.request", "inferenceservicename": "iris", "endpoint": "default",
                 "data": {"data": {"ndarray": [[1, "x", 2, 3]]}}}) + "\n", r"requests\.jsonl:1: data\.ndarray: want numbers"),
    (json.dumps({"type": "io.seldon.serving.inference.request", "inferenceservicename": "iris", "endpoint": "shadow",
                 "data": {"data": {"ndarray": [[1, 2, 3, 4]]}}}) + "\n", r"predictor 'shadow', whose version is unknown"),
])
def test_bad_logs_are_refused_with_file_and_line_and_no_output(drift_env: envs.SideEnv, detectors: Path,
                                                               tmp_path: Path, content: str, message: str) -> None:
    log = tmp_path / "log"
    log.mkdir()
    (log / "requests.jsonl").write_text(content)
    out = tmp_path / "drift.prom"
    done = run_job(drift_env, log, detectors, "--out", str(out))
    assert done.returncode == 2
    assert re.search(message, done.stderr), done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_a_version_without_a_detector_is_refused(drift_env: envs.SideEnv, samples: dict[str, Any], detectors: Path,
                                                 tmp_path: Path) -> None:
    log = write_log(tmp_path / "log", [cloud_event(samples["held_out"])])
    done = run_job(drift_env, log, detectors, "--predictor-version", "default=9.9.9")
    assert done.returncode == 2
    assert "no drift detector for iris 9.9.9" in done.stderr and "shipyard drift build" in done.stderr


def test_build_refuses_bad_reference_and_models_without_drift(samples: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sepal_length,sepal_width,petal_length,species\n5.1,3.5,1.4,setosa\n")
    done = subprocess.run([SHIPYARD, "drift", "build", "iris", "--version", "1.0.0", "--reference", str(bad),
                           "--out", str(tmp_path / "d"), "--repo", str(ROOT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "bad.csv:1: no column petal_width" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "d").exists() and list(tmp_path.iterdir()) == [bad]
    done = subprocess.run([SHIPYARD, "drift", "build", "tabular-xgb", "--version", "1.0.0", "--reference",
                           str(samples["train"]), "--out", str(tmp_path / "d"), "--repo", str(ROOT)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "declares no spec.drift" in done.stderr


def test_published_detector_is_immutable(detectors: Path, tmp_path: Path) -> None:
    repo = Repository.load(ROOT)
    store = ModelStore(uri=str(tmp_path / "store"), source="--store")
    first = publish_detector(repo, store, "iris", "1.0.0", detectors / "1.0.0")
    assert first.uploaded and first.uri == (tmp_path / "store" / "iris" / "drift" / "1.0.0").as_uri()
    again = publish_detector(repo, store, "iris", "1.0.0", detectors / "1.0.0")
    assert not again.uploaded
    other = tmp_path / "other"
    shutil.copytree(detectors / "1.0.0", other)
    (other / "shipyard-drift.json").write_text(json.dumps({"features": ["x"]}))
    with pytest.raises(ShipyardError, match="already holds a different drift detector"):
        publish_detector(repo, store, "iris", "1.0.0", other)
    kept = tmp_path / "store" / "iris" / "drift" / "1.0.0" / "shipyard-drift.json"
    assert kept.read_bytes() == (detectors / "1.0.0" / "shipyard-drift.json").read_bytes()


# --- the export, end to end: job.py -> a real Pushgateway -> a real Prometheus -> the alert ---------

def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)


def _wait(what: str, ready: Any, procs: list[subprocess.Popen[bytes]], logs: list[Path], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        for proc, log in zip(procs, logs):
            assert proc.poll() is None, log.read_text()
        got = ready()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what} within {seconds:g} s: " + " ".join(l.read_text()[-800:] for l in logs)
        time.sleep(0.3)


@pytest.fixture(scope="module")
def pushed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Debian's Pushgateway (1.5.1) and Prometheus (2.42) on loopback: Prometheus scrapes the
    Pushgateway every second with honor_labels (as prometheus-community/prometheus-pushgateway's
    ServiceMonitor does) and evaluates iris' PrometheusRule as the operator writes it."""
    pushgateway, server = shutil.which("prometheus-pushgateway"), shutil.which("prometheus")
    if pushgateway is None or server is None:
        pytest.skip("Debian's prometheus and prometheus-pushgateway packages are not installed "
                    "(apt-get install prometheus=2.42.0+ds-5+deb12u1 prometheus-pushgateway=1.5.1-2+b5)")
    folder = tmp_path_factory.mktemp("pushgateway")
    push_port, prom_port = free_port(), free_port()
    (groups,) = prometheus_rules(ROOT / "models" / "iris" / "monitoring" / "prometheusrule.yaml")
    (folder / "rules.yaml").write_text(RuleFile(rule_groups(groups)).text)
    (folder / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{folder / 'rules.yaml'}]\n"
        "scrape_configs:\n- job_name: pushgateway\n  honor_labels: true\n"
        f"  static_configs:\n  - targets: ['127.0.0.1:{push_port}']\n")
    logs = [folder / "pushgateway.log", folder / "prometheus.log"]
    procs = [_start([pushgateway, f"--web.listen-address=127.0.0.1:{push_port}"], logs[0]),
             _start([server, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
                     f"--web.listen-address=127.0.0.1:{prom_port}"], logs[1])]
    url = f"http://127.0.0.1:{prom_port}"

    def scraped() -> bool:
        try:
            return query_number(url, 'up{job="pushgateway"}') == 1.0
        except PrometheusError:
            return False

    try:
        _wait("Prometheus scraped the Pushgateway", scraped, procs, logs)
        yield {"pushgateway": f"http://127.0.0.1:{push_port}", "prometheus": url, "procs": procs, "logs": logs}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_pushed_metrics_reach_prometheus_with_the_labels_the_alerts_use(
        drift_env: envs.SideEnv, samples: dict[str, Any], detectors: Path, pushed_stack: dict[str, Any],
        tmp_path: Path) -> None:
    prom = pushed_stack["prometheus"]
    shifted = write_log(tmp_path / "shifted", [cloud_event(samples["shifted"])])
    done = run_job(drift_env, shifted, detectors, "--pushgateway", pushed_stack["pushgateway"])
    assert done.returncode == 0, done.stderr

    def drifted() -> list[Any]:
        return query(prom, 'shipyard_drift_detected{model="iris"} == 1')

    (sample,) = _wait("the pushed verdict in Prometheus", drifted, pushed_stack["procs"], pushed_stack["logs"])
    # what tests/alerts.yaml's drift series say Prometheus stores: the push's job and grouping label
    labels = {k: v for k, v in sample.labels.items() if k != "__name__"}
    assert labels == {"job": "shipyard-drift", "deployment": "iris", "deployment_name": "iris", "model": "iris",
                      "predictor_name": "default", "predictor_version": "1.0.0"}, labels
    # the rule matches the real series: IrisDataDrift is pending (for: 5m), naming predictor and version
    pending = _wait("IrisDataDrift pending", lambda: query(prom, 'ALERTS{alertname="IrisDataDrift"}'),
                    pushed_stack["procs"], pushed_stack["logs"])
    assert [(a.labels["alertstate"], a.labels["predictor_name"], a.labels["predictor_version"]) for a in pending] == \
        [("pending", "default", "1.0.0")]
    assert not query(prom, 'ALERTS{alertname="IrisDriftCheckMissing"}')

    # the next run replaces the group: the same predictor, no drift now
    held_out = write_log(tmp_path / "held-out", [cloud_event(samples["held_out"])])
    done = run_job(drift_env, held_out, detectors, "--pushgateway", pushed_stack["pushgateway"])
    assert done.returncode == 0, done.stderr
    _wait("the new verdict in Prometheus", lambda: query(prom, 'shipyard_drift_detected{model="iris"} == 0'),
          pushed_stack["procs"], pushed_stack["logs"])
    _wait("IrisDataDrift gone", lambda: not query(prom, 'ALERTS{alertname="IrisDataDrift"}'),
          pushed_stack["procs"], pushed_stack["logs"])
    assert query_number(prom, 'count(shipyard_drift_detected{model="iris"})') == 1.0
