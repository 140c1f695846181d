"""The serving contract, against the real seldon-core 1.17.1 microservice on loopback.

What the cluster's SKLEARN_SERVER promises for a model.joblib folder must
hold locally: class names and probabilities over REST and gRPC in the
Seldon protocol, Seldon's error response for bad input (and the server keeps
serving), a metrics port, loopback-only sockets, and nothing left running.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from shipyard.errors import ShipyardError
from shipyard.serving.server import SeldonServer, group_members, pick_ports

pytestmark = pytest.mark.sidecar_env

CLASSES = ["setosa", "versicolor", "virginica"]
SETOSA = [5.1, 3.5, 1.4, 0.2]  # first row of the iris data set
VIRGINICA = [6.7, 3.0, 5.2, 2.3]  # row 146


def post(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_rest_prediction_has_class_names_and_probabilities(iris_server: SeldonServer) -> None:
    status, body = post(iris_server.predict_url, {"data": {"ndarray": [SETOSA, VIRGINICA]}})
    assert status == 200
    assert body["data"]["names"] == CLASSES
    rows = body["data"]["ndarray"]
    assert len(rows) == 2 and all(len(r) == 3 for r in rows)
    assert all(abs(sum(r) - 1.0) < 1e-6 for r in rows)
    assert [CLASSES[r.index(max(r))] for r in rows] == ["setosa", "virginica"]
    assert rows[0][0] > 0.9


def test_grpc_prediction_through_seldon_client(iris_server: SeldonServer, client) -> None:  # type: ignore[no-untyped-def]
    outcome = client("grpc", iris_server.grpc_endpoint, [SETOSA, VIRGINICA], payload="tensor")
    assert outcome["success"], outcome["msg"]
    data = outcome["response"]["data"]
    assert data["names"] == CLASSES
    assert data["tensor"]["shape"] == [2, 3]
    values = data["tensor"]["values"]
    assert values[0] > 0.9 and values[5] > 0.9  # setosa row -> setosa, virginica row -> virginica


def test_rest_prediction_through_seldon_client(iris_server: SeldonServer, client) -> None:  # type: ignore[no-untyped-def]
    outcome = client("rest", f"127.0.0.1:{iris_server.ports.http}", [VIRGINICA])
    assert outcome["success"], outcome["msg"]
    assert outcome["response"]["data"]["names"] == CLASSES
    (row,) = outcome["response"]["data"]["ndarray"]
    assert CLASSES[row.index(max(row))] == "virginica"


@pytest.mark.parametrize(
    "rows, fragment",
    [
        ([[5.1, 3.5, 1.4]], "shape [n, 4], got shape [1, 3]"),
        ([5.1, 3.5, 1.4, 0.2], "got shape [4]"),
        ([["a", "b", "c", "d"]], "features must be numbers"),
    ],
)
def test_bad_rest_input_gets_seldon_error_and_server_survives(iris_server: SeldonServer, rows: Any, fragment: str) -> None:
    status, body = post(iris_server.predict_url, {"data": {"ndarray": rows}})
    assert status == 400
    assert body["status"]["reason"] == "MICROSERVICE_BAD_DATA"
    assert body["status"]["status"] == 1
    assert fragment in body["status"]["info"]
    assert iris_server.alive()
    status, _ = post(iris_server.predict_url, {"data": {"ndarray": [SETOSA]}})
    assert status == 200


def test_bad_grpc_input_is_an_error_not_a_crash(iris_server: SeldonServer, client) -> None:  # type: ignore[no-untyped-def]
    outcome = client("grpc", iris_server.grpc_endpoint, [[1.0, 2.0]], payload="tensor")
    assert not outcome["success"]
    assert "StatusCode.UNKNOWN" in outcome["msg"]
    assert "expected an array of shape [n, 4], got shape [1, 2]" in outcome["msg"]
    assert client("grpc", iris_server.grpc_endpoint, [SETOSA], payload="tensor")["success"]


def _metrics(server: SeldonServer) -> str:
    with urllib.request.urlopen(server.metrics_url, timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


def _rows_served(text: str) -> float:
    """shipyard_rows_served_total over every worker (REST and gRPC are separate processes)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("shipyard_rows_served_total{") and 'method="predict"' in line)


def test_metrics_port_answers_with_prometheus_text(iris_server: SeldonServer) -> None:
    post(iris_server.predict_url, {"data": {"ndarray": [SETOSA, SETOSA, SETOSA]}})
    assert _rows_served(_metrics(iris_server)) >= 3


def test_rows_served_is_a_counter_that_grows_by_the_rows_of_each_request(iris_server: SeldonServer, client) -> None:  # type: ignore[no-untyped-def]
    """A running total is a counter: Prometheus' rate() and increase() work on
    it, and a restart is read as a reset, not as traffic going negative."""
    before = _metrics(iris_server)
    assert re.search(r"^# TYPE shipyard_rows_served(_total)? counter$", before, re.M), before
    start = _rows_served(before)
    post(iris_server.predict_url, {"data": {"ndarray": [SETOSA, VIRGINICA]}})
    post(iris_server.predict_url, {"data": {"ndarray": [SETOSA, SETOSA, VIRGINICA]}})
    post(iris_server.predict_url, {"data": {"ndarray": [[1.0, 2.0]]}})  # refused: no rows served
    assert client("grpc", iris_server.grpc_endpoint, [SETOSA, SETOSA, SETOSA, SETOSA], payload="tensor")["success"]
    urllib.request.urlopen(iris_server.rest_url + "/health/status", timeout=10).close()
    after = _metrics(iris_server)
    assert _rows_served(after) - start == 2 + 3 + 4
    assert "shipyard_rows_served{" not in after  # no gauge of the same name


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.append(address)
    return found


def test_every_port_is_bound_to_loopback_only(iris_server: SeldonServer) -> None:
    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}
    for port in (iris_server.ports.http, iris_server.ports.grpc, iris_server.ports.metrics):
        addresses = _listening(port)
        assert addresses, f"nothing listens on {port}"
        assert set(addresses) <= loopback, f"port {port} bound to {addresses}"


def test_stop_leaves_no_process_behind(seldon_env, iris_model_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = SeldonServer(seldon_env, iris_model_dir, pick_ports(), tmp_path / "server.log")
    server.start()
    assert server.process is not None
    group = server.process.pid
    assert len(group_members(group)) >= 4  # REST master+worker, gRPC, metrics
    server.stop()
    assert group_members(group) == []
    assert _listening(server.ports.http) == []


def test_missing_artifact_is_a_clear_error(seldon_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    server = SeldonServer(seldon_env, empty, pick_ports(), tmp_path / "server.log")
    with pytest.raises(ShipyardError) as caught:
        server.start()
    assert f"{empty}/model.joblib: missing" in caught.value.message
    assert "Traceback" not in caught.value.message


def test_corrupt_artifact_is_a_clear_error(seldon_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "corrupt"
    folder.mkdir()
    (folder / "model.joblib").write_bytes(b"this is not a pickle\n")
    server = SeldonServer(seldon_env, folder, pick_ports(), tmp_path / "server.log")
    with pytest.raises(ShipyardError) as caught:
        server.start()
    assert "cannot load with joblib" in caught.value.message
    assert "corrupt" in caught.value.message


def test_server_refuses_an_artifact_whose_sha256_differs(seldon_env, iris_model_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = SeldonServer(seldon_env, iris_model_dir, pick_ports(), tmp_path / "server.log", sha256="0" * 64)
    with pytest.raises(ShipyardError) as caught:
        server.start()
    assert "refusing to serve" in caught.value.message
    assert server.process is None
