"""Protocol v2: `shipyard serve` runs MLServer 1.3.5, as seldon-core 1.17.1 does on the cluster.

An XGBoost model trained here in seconds (model.json, a file XGBOOST_SERVER's
MLServer runtime loads) and the reference iris model.joblib (SKLEARN_SERVER)
are registered in a temporary repository whose model.yaml says `protocol:
v2`: the XGBoost one published to the loopback S3 store (`rclone serve s3`)
and fetched back by `shipyard serve`, the iris one as a file:// URI. Both
are served by `shipyard serve` itself and asked over REST
(/v2/models/<name>/infer) and gRPC (inference.GRPCInferenceService, with
MLServer's own stubs); the answers must equal what each model predicts
in-process. The settings MLServer gets, the runtime table and the refusals
are checked without a server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import uuid
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from s3_loopback import S3_BUCKET, S3Server

from shipyard import envs
from shipyard.envs import SideEnv
from shipyard.errors import ShipyardError
from shipyard.repo import Repository
from shipyard.serving.artifact import sha256_file
from shipyard.serving.mlserver import MLServerServer
from shipyard.serving.publish import publish
from shipyard.serving.runtimes import RUNTIMES, runtime_for
from shipyard.serving.server import RUNTIME_DIR, Ports, pick_ports
from shipyard.serving.session import build_server, prepare, v2_request
from shipyard.serving.store import parse_store

pytestmark = pytest.mark.sidecar_env

HERE = Path(__file__).resolve().parent
SHIPYARD = str(Path(sys.executable).parent / "shipyard")
GRAPH_NAME = "classifier"

MODEL_YAML = """\
apiVersion: shipyard.dev/v1alpha1
kind: Model
metadata:
  name: {name}
spec:
  owner: ml-platform@example.com
  serving:
    implementation: {implementation}
    protocol: v2
    namespace: models
    replicas: {{dev: 1}}
  versions:
  - version: 1.0.0
    modelUri: {uri}
    sha256: {sha}
    metrics: {{accuracy: 0.97}}
"""

DEPLOY = """\
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata:
  name: {name}
spec:
  protocol: v2
  predictors:
  - name: default
    graph:
      name: {graph}
      type: MODEL
      implementation: {implementation}
      modelUri: ""
"""


def _add_model(root: Path, name: str, implementation: str, uri: str, sha: str, graph: str = GRAPH_NAME) -> None:
    (root / "models" / name / "deploy").mkdir(parents=True, exist_ok=True)
    (root / "models" / name / "model.yaml").write_text(MODEL_YAML.format(name=name, implementation=implementation, uri=uri, sha=sha))
    (root / "models" / name / "deploy" / "seldondeployment.yaml").write_text(
        DEPLOY.format(name=name, graph=graph, implementation=implementation))


def _new_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "shipyard.yaml").write_text("repository: {url: https://example.com/r.git}\n")
    return root


@pytest.fixture(scope="session")
def mlserver_env() -> SideEnv:
    return envs.ensure("mlserver", envs.toolkit_root()).env


@pytest.fixture(scope="session")
def v2_artifacts(mlserver_env: SideEnv, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """model.json and model.joblib, trained in .venv-mlserver, and each model's own predictions."""
    base = tmp_path_factory.mktemp("v2-artifacts")
    xgb_dir, sk_dir = base / "xgboost", base / "sklearn"
    subprocess.run([str(mlserver_env.python), str(HERE / "v2_reference.py"), str(RUNTIME_DIR), str(xgb_dir), str(sk_dir),
                    str(base / "expected.json")], check=True, timeout=120)
    expected: dict[str, Any] = json.loads((base / "expected.json").read_text())
    expected["xgboost"]["dir"], expected["sklearn"]["dir"] = xgb_dir, sk_dir
    return expected


@pytest.fixture(scope="session")
def v2_repo(v2_artifacts: dict[str, Any], s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A repository with two protocol-v2 models: `tabular` (XGBOOST_SERVER, published to
    the loopback S3 store, so serving fetches it back) and `iris` (SKLEARN_SERVER, a file:// URI)."""
    root = _new_repo(tmp_path_factory.mktemp("v2-repo") / "repo")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith(("RCLONE_", "AWS_", "SHIPYARD_MODEL_STORE")):
                mp.delenv(key)
        for key, value in s3_server.environ().items():
            if key.startswith("AWS_"):
                mp.setenv(key, value)
        _add_model(root, "tabular", "XGBOOST_SERVER", "s3://placeholder/tabular/1.0.0", "0" * 64)
        published = publish(Repository.load(root), parse_store(f"s3://{S3_BUCKET}/v2-{uuid.uuid4().hex[:12]}", "--store"), "tabular",
                            "1.0.0", v2_artifacts["xgboost"]["dir"] / "model.json")
        assert published.object_uri.endswith("/tabular/1.0.0/model.json") and published.uploaded
        _add_model(root, "tabular", "XGBOOST_SERVER", published.uri, published.sha256)
        sk = v2_artifacts["sklearn"]["dir"] / "model.joblib"
        _add_model(root, "iris", "SKLEARN_SERVER", f"file://{sk.parent}", sha256_file(sk))
        broken = root.parent / "broken-store" / "broken" / "1.0.0"  # registered as it is: valid JSON, not a model
        broken.mkdir(parents=True)
        (broken / "model.json").write_text('{"learner": 1}')
        _add_model(root, "broken", "XGBOOST_SERVER", f"file://{broken}", sha256_file(broken / "model.json"))
        yield root


@dataclass
class Served:
    """A `shipyard serve` process of the tests, and what its banner says."""

    proc: subprocess.Popen[str]
    ports: Ports
    banner: str
    model_name: str = GRAPH_NAME

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    @property
    def infer_url(self) -> str:
        return f"{self.rest_url}/v2/models/{self.model_name}/infer"

    @property
    def ready_url(self) -> str:
        return f"{self.rest_url}/v2/health/ready"

    @property
    def metadata_url(self) -> str:
        return f"{self.rest_url}/v2/models/{self.model_name}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.metrics}/prometheus"

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.ports.grpc}"


def _read_banner(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Stop with Ctrl-C"):
            break
    return "".join(lines)


@pytest.fixture(scope="session")
def v2_servers(v2_repo: Path, mlserver_env: SideEnv, s3_server: S3Server) -> Iterator[dict[str, Served]]:
    """Both models served by `shipyard serve`, exactly as a person runs it, started
    at once (each MLServer start is 5-20 s on two shared cores)."""
    served: dict[str, Served] = {}
    try:
        for name in ("tabular", "iris", "broken"):
            ports = pick_ports()
            proc = subprocess.Popen(
                [SHIPYARD, "serve", name, "--version", "1.0.0", "--repo", str(v2_repo), "--port", str(ports.http),
                 "--grpc-port", str(ports.grpc), "--metrics-port", str(ports.metrics)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=s3_server.environ(),
            )
            served[name] = Served(proc, ports, "")
        deadline = time.monotonic() + 150
        for name, handle in served.items():
            if name == "broken":
                continue  # test_a_model_mlserver_cannot_load_is_a_one_line_error
            handle.banner = _read_banner(handle.proc, deadline)
            assert handle.banner.rstrip().endswith("Stop with Ctrl-C (or SIGTERM)."), \
                handle.banner + (handle.proc.stderr.read() if handle.proc.poll() is not None and handle.proc.stderr else "")
        yield served
    finally:
        for handle in served.values():
            if handle.proc.poll() is None:
                handle.proc.kill()
                handle.proc.communicate(timeout=30)


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _post(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _grpc(env: SideEnv, *calls: tuple[Served, Any]) -> list[dict[str, Any]]:
    """gRPC calls through runtime/v2_probe.py (MLServer's own stubs), all in one process."""
    command = [str(env.python), str(RUNTIME_DIR / "v2_probe.py")]
    for server, body in calls:
        command += ["--call", server.grpc_endpoint, server.model_name, json.dumps(body)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])["calls"]
    return result


@pytest.fixture(scope="session")
def grpc_answers(v2_servers: dict[str, Served], v2_artifacts: dict[str, Any], mlserver_env: SideEnv) -> dict[str, dict[str, Any]]:
    """Every gRPC exchange of the tests, made by one probe process (each start imports MLServer: 2-5 s here)."""
    xgb, iris = v2_artifacts["xgboost"], v2_artifacts["sklearn"]
    names = ["xgboost", "xgboost-bad", "iris"]
    answers = _grpc(mlserver_env,
                    (v2_servers["tabular"], v2_request(xgb["rows"], ["predict", "predict_proba"])),
                    (v2_servers["tabular"], v2_request([[1.0, 2.0]])),
                    (v2_servers["iris"], v2_request(iris["rows"], ["predict", "predict_proba"])))
    return dict(zip(names, answers))


def _outputs(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in response["outputs"]}


def _close(got: list[float], want: list[float], tol: float = 1e-5) -> bool:
    return len(got) == len(want) and all(abs(a - b) <= tol for a, b in zip(got, want))


def _flat(rows: list[list[float]]) -> list[float]:
    return [v for row in rows for v in row]


# --- the runtime table: no server needed ---------------------------------------------------

def test_runtime_follows_the_operator_per_implementation_and_protocol() -> None:
    sk, xgb = runtime_for("SKLEARN_SERVER", "v2"), runtime_for("XGBOOST_SERVER", "kfserving")
    assert (sk.mlserver_class, sk.cluster_image) == ("mlserver_sklearn.SKLearnModel", "seldonio/mlserver:1.3.5-sklearn")
    assert (xgb.mlserver_class, xgb.cluster_image, xgb.protocol) == ("mlserver_xgboost.XGBoostModel", "seldonio/mlserver:1.3.5-xgboost", "v2")
    assert xgb.artifact_names == ("model.bst", "model.json", "model.ubj")  # mlserver_xgboost's WELLKNOWN_MODEL_FILENAMES
    assert runtime_for(None, None) is RUNTIMES[("SKLEARN_SERVER", "seldon")]  # no serving section: as before
    assert runtime_for("SKLEARN_SERVER", "seldon").local == "seldon"


@pytest.mark.parametrize("implementation, protocol, image, text", [
    ("MLFLOW_SERVER", "seldon", None, "the cluster runs seldonio/mlflowserver:1.17.1"),
    ("XGBOOST_SERVER", "seldon", None, "the cluster runs seldonio/xgboostserver:1.17.1"),
    ("TRITON_SERVER", "v2", None, "has no local runtime"),
    (None, "seldon", "registry.example.com/m:1.0", "served by a custom image"),
])
def test_what_is_not_served_locally_is_refused_clearly(implementation: str | None, protocol: str, image: str | None, text: str) -> None:
    with pytest.raises(ShipyardError) as caught:
        runtime_for(implementation, protocol, image=image, where="m 1.0.0")
    assert caught.value.check == "SY900" and text in caught.value.message


def test_operator_settings_and_loopback(v2_repo: Path, mlserver_env: SideEnv, tmp_path: Path) -> None:
    prepared = prepare(v2_repo, "tabular", "1.0.0")
    server = build_server(prepared, pick_ports(), log_path=tmp_path / "log")
    assert isinstance(server, MLServerServer)
    settings = server.settings()
    assert settings["MLSERVER_MODEL_IMPLEMENTATION"] == "mlserver_xgboost.XGBoostModel"
    assert settings["MLSERVER_MODEL_NAME"] == GRAPH_NAME  # the graph node's name, as the operator sets it
    assert settings["MLSERVER_MODEL_VERSION"] == "v1" and settings["MLSERVER_METRICS_ENDPOINT"] == "/prometheus"
    assert settings["MLSERVER_MODEL_URI"] == str(prepared.artifact.folder) and settings["MLSERVER_HOST"] == "127.0.0.1"
    assert prepared.artifact.artifact.name == "model.json" and prepared.fetched_from is not None
    assert server.workdir() == tmp_path / "log.mlserver"  # never the toolkit's runtime/ folder
    assert server.environment()["MLSERVER_METRICS_DIR"] == str(tmp_path / "log.mlserver" / ".metrics")


def test_method_option_is_refused_under_v2(v2_repo: Path) -> None:
    prepared = prepare(v2_repo, "iris", "1.0.0")
    with pytest.raises(ShipyardError) as caught:
        build_server(prepared, pick_ports(), method="predict")
    assert caught.value.check == "SY900" and '"outputs": [{"name": "predict_proba"}]' in str(caught.value.hint)


def test_missing_and_mismatching_artifacts_are_refused_before_start(v2_repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ShipyardError) as caught:
        prepare(v2_repo, "tabular", "1.0.0", model_dir=empty)
    assert caught.value.check == "SY912" and "holds no model.bst, model.json or model.ubj" in caught.value.message
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.json").write_text("{}")
    with pytest.raises(ShipyardError) as caught:
        prepare(v2_repo, "tabular", "1.0.0", model_dir=other)
    assert caught.value.check == "SY912" and "refusing to serve it" in caught.value.message


# --- live servers -------------------------------------------------------------------------

def test_ready_and_model_metadata(v2_servers: dict[str, Served]) -> None:
    for server in (v2_servers["tabular"], v2_servers["iris"]):
        assert _get(server.ready_url)[0] == 200
        assert _get(f"{server.rest_url}/v2/health/live")[0] == 200
        assert _get(f"{server.rest_url}/v2/models/{GRAPH_NAME}/ready")[0] == 200
        status, metadata = _get(server.metadata_url)
        assert status == 200 and metadata["name"] == GRAPH_NAME
        status, _ = _get(f"{server.rest_url}/v2/models/not-{GRAPH_NAME}")
        assert status == 404
        with urllib.request.urlopen(server.metrics_url, timeout=10) as response:
            assert response.status == 200 and b"rest_server_requests_total" in response.read()


def test_xgboost_rest_inference_equals_the_models_own_predict(v2_servers: dict[str, Served], v2_artifacts: dict[str, Any]) -> None:
    want = v2_artifacts["xgboost"]
    status, body = _post(v2_servers["tabular"].infer_url, v2_request(want["rows"], ["predict", "predict_proba"]))
    assert status == 200, body
    assert body["model_name"] == GRAPH_NAME and body["model_version"] == "v1"
    outputs = _outputs(body)
    assert outputs["predict"]["data"] == want["predict"] and outputs["predict"]["shape"][0] == len(want["rows"])
    assert outputs["predict_proba"]["shape"] == [len(want["rows"]), 2]
    assert _close(outputs["predict_proba"]["data"], _flat(want["predict_proba"]))
    status, body = _post(v2_servers["tabular"].infer_url, v2_request(want["rows"]))  # no outputs named: predict
    assert status == 200 and [o["name"] for o in body["outputs"]] == ["predict"]


def test_xgboost_grpc_inference_with_mlservers_stubs(grpc_answers: dict[str, dict[str, Any]], v2_artifacts: dict[str, Any]) -> None:
    want = v2_artifacts["xgboost"]
    result = grpc_answers["xgboost"]
    assert result["server_ready"] and result["model_ready"] and result["error"] is None
    assert result["metadata"]["name"] == GRAPH_NAME
    outputs = _outputs(result["response"])
    assert outputs["predict"]["data"] == want["predict"]
    assert _close(outputs["predict_proba"]["data"], _flat(want["predict_proba"]))


def test_sklearn_server_under_v2_over_rest_and_grpc(v2_servers: dict[str, Served], v2_artifacts: dict[str, Any],
                                                    grpc_answers: dict[str, dict[str, Any]]) -> None:
    want = v2_artifacts["sklearn"]
    request = v2_request(want["rows"], ["predict", "predict_proba"])
    status, body = _post(v2_servers["iris"].infer_url, request)
    assert status == 200, body
    rest = _outputs(body)
    assert rest["predict"]["data"] == want["predict"] == ["setosa", "versicolor", "virginica"]
    assert _close(rest["predict_proba"]["data"], _flat(want["predict_proba"]), 1e-6)
    grpc = _outputs(grpc_answers["iris"]["response"])
    assert _close(grpc["predict_proba"]["data"], _flat(want["predict_proba"]), 1e-6)
    assert [str(v) for v in grpc["predict"]["data"]] == want["predict"]


def test_bad_input_gets_an_error_and_the_server_keeps_serving(v2_servers: dict[str, Served], v2_artifacts: dict[str, Any],
                                                             grpc_answers: dict[str, dict[str, Any]]) -> None:
    server = v2_servers["tabular"]
    status, body = _post(server.infer_url, v2_request([[1.0, 2.0]]))  # 2 features, the model takes 30
    assert status >= 400 and "error" in body
    status, body = _post(server.infer_url, v2_request([[0.0] * 30], ["decision_function"]))
    assert status == 400 and "only supports 'predict' and 'predict_proba'" in body["error"]
    result = grpc_answers["xgboost-bad"]
    assert result["error"] is not None and result["response"] is None
    assert _post(server.infer_url, v2_request(v2_artifacts["xgboost"]["rows"]))[0] == 200


def test_the_server_itself_refuses_an_artifact_changed_after_the_check(v2_repo: Path, v2_artifacts: dict[str, Any],
                                                                      tmp_path: Path, mlserver_env: SideEnv) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(v2_artifacts["xgboost"]["dir"], copy)
    prepared = prepare(v2_repo, "tabular", "1.0.0", model_dir=copy)
    with (copy / "model.json").open("a") as fh:
        fh.write(" ")  # still valid JSON, other bytes
    server = build_server(prepared, pick_ports(), log_path=tmp_path / "log")
    with pytest.raises(ShipyardError) as caught:
        server.start()
    assert caught.value.check == "SY913" and "refusing to serve a different artifact" in caught.value.message
    assert not server.alive()


def test_a_model_mlserver_cannot_load_is_a_one_line_error(v2_servers: dict[str, Served]) -> None:
    """The registered bytes are intact, but MLServer's runtime cannot load them:
    MLServer logs a traceback and shuts down; the command says why in one line."""
    proc = v2_servers["broken"].proc
    out, err = proc.communicate(timeout=150)
    assert proc.returncode == 2, out + err
    assert "error [SY913]" in err and "mlserver_xgboost.XGBoostModel could not load" in err
    assert "xgboost.core.XGBoostError" in err and "Traceback" not in err and "full server log:" in err
    assert "Stop with Ctrl-C" not in out


def test_banner_names_the_runtime_and_its_curl_works(v2_servers: dict[str, Served]) -> None:
    iris, tabular = v2_servers["iris"], v2_servers["tabular"]
    assert f"REST     {iris.infer_url} (V2 inference protocol)" in iris.banner
    assert "SKLEARN_SERVER under protocol v2: MLServer mlserver_sklearn.SKLearnModel" in iris.banner
    assert "(the cluster runs seldonio/mlserver:1.3.5-sklearn)" in iris.banner and "sha256 verified" in iris.banner
    assert "XGBOOST_SERVER under protocol v2: MLServer mlserver_xgboost.XGBoostModel" in tabular.banner
    fetched = next(line for line in tabular.banner.splitlines() if line.startswith("  fetched  s3://shipyard-models/"))
    assert fetched.endswith(("/tabular/1.0.0 (downloaded with rclone)", "/tabular/1.0.0 (a verified copy from the cache)"))
    assert f"gRPC     {tabular.grpc_endpoint} (inference.GRPCInferenceService/ModelInfer, model {GRAPH_NAME})" in tabular.banner
    for handle, answer in ((iris, ["setosa"]), (tabular, None)):
        curl = next(line.strip() for line in handle.banner.splitlines() if line.strip().startswith("curl "))
        body = json.loads(curl.split("-d '", 1)[1].split("'", 1)[0])
        assert curl.endswith(handle.infer_url)
        status, reply = _post(handle.infer_url, body)
        assert status == 200, reply
        if answer is not None:
            assert reply["outputs"][0]["data"] == answer
        else:  # the XGBoost curl sends a row of the model's own width (30 features)
            assert body["inputs"][0]["shape"] == [1, 30] and len(reply["outputs"][0]["data"]) == 1


@pytest.mark.parametrize("name, sig", [("tabular", signal.SIGTERM), ("iris", signal.SIGINT)])
def test_shipyard_serve_stops_cleanly_on_a_signal(v2_servers: dict[str, Served], name: str, sig: signal.Signals) -> None:
    """Last in the file: it stops the servers the tests above used."""
    handle = v2_servers[name]
    handle.proc.send_signal(sig)
    out, err = handle.proc.communicate(timeout=30)
    assert handle.proc.returncode == 0, err
    assert f"{sig.name} received: stopping the model server" in out and "Traceback" not in err
    for port in (handle.ports.http, handle.ports.grpc, handle.ports.metrics):
        with socket.socket() as sock:
            sock.settimeout(0.5)
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after stop"
    assert not (RUNTIME_DIR / ".metrics").exists() and not (RUNTIME_DIR / ".envs").exists()  # MLServer ran elsewhere
    folder = handle.banner.splitlines()[0].split(" from ", 1)[1].split(" (sha256", 1)[0]
    assert Path(folder).is_dir() and _pids_mentioning(folder) == [], "a process of the server is still running"


def _pids_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found
