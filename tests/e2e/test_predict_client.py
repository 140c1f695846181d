"""The suite's Seldon-protocol client against seldon-core 1.17.1's own
microservice on loopback (the wrapper the cluster's SKLEARN_SERVER runs),
so the code that checks predictions on kind is itself checked here, without
a cluster: requests it sends are understood, answers it reads are real ones,
and a failure answer becomes a clear error."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from shipyard import envs
from shipyard.e2e.predict import (
    Prediction, PredictionError, parse_response, predict, predict_when_ready, predicted_classes, probability_problems,
    request_body,
)
from shipyard.serving.artifact import sha256_file
from shipyard.serving.server import RUNTIME_DIR, SeldonServer, free_port, pick_ports

SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeldonServer]:
    env = envs.ensure("seldon", envs.toolkit_root()).env
    folder = tmp_path_factory.mktemp("iris")
    subprocess.run([str(env.python), str(RUNTIME_DIR / "reference_iris.py"), str(folder / "model.joblib")],
                   check=True, timeout=120)
    srv = SeldonServer(env, folder, pick_ports(), folder / "server.log", sha256=sha256_file(folder / "model.joblib"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.sidecar_env
def test_the_client_reads_real_predictions(server: SeldonServer) -> None:
    prediction = predict(server.rest_url, [SETOSA, VIRGINICA])
    assert probability_problems(prediction, rows=2, classes=3) == []
    assert predicted_classes(prediction) == [0, 2]
    assert len(prediction.names) == 3


@pytest.mark.sidecar_env
def test_a_failure_answer_is_an_error_that_says_so(server: SeldonServer) -> None:
    with pytest.raises(PredictionError) as error:
        predict(server.rest_url, [[1.0, 2.0]])  # two features where the model takes four
    assert "HTTP" in error.value.message or "FAILURE" in error.value.message


def test_nothing_listening_is_retried_then_reported() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PredictionError, match="did not answer"):
        predict_when_ready(url, [SETOSA], patience=1.0, interval=0.4)


def test_answers_that_are_not_predictions_are_named() -> None:
    with pytest.raises(PredictionError, match="FAILURE: bad input"):
        parse_response({"status": {"status": "FAILURE", "info": "bad input", "code": -1}})
    with pytest.raises(PredictionError, match="no 'data' object"):
        parse_response({"meta": {}})
    with pytest.raises(PredictionError, match="neither 'ndarray' nor 'tensor'"):
        parse_response({"data": {"strData": "x"}})
    with pytest.raises(PredictionError, match="12 values for shape"):
        parse_response({"data": {"tensor": {"shape": [2, 3], "values": list(range(12))}}})
    with pytest.raises(PredictionError, match="at least one non-empty row"):
        request_body([])
    tensor = parse_response({"data": {"names": ["a", "b"], "tensor": {"shape": [2, 2], "values": [0.9, 0.1, 0.2, 0.8]}}})
    assert tensor.rows == [[0.9, 0.1], [0.2, 0.8]] and predicted_classes(tensor) == [0, 1]


def test_probability_checks_catch_what_is_wrong() -> None:
    good = Prediction(rows=[[0.7, 0.2, 0.1]])
    assert probability_problems(good, rows=1, classes=3) == []
    bad = Prediction(rows=[[0.7, 0.7, 0.1], [1.0, 0.0]])
    problems = probability_problems(bad, rows=1, classes=3)
    assert problems == ["expected 1 rows, got 2", "row 0: probabilities sum to 1.500000, not 1",
                        "row 1: expected 3 probabilities, got 2"]

