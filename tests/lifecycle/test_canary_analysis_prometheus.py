"""`shipyard rollout --analyze` against a real Prometheus scraping real model
servers (canary_prometheus.py): a healthy canary steps up, one at the last
step finishes, one whose requests fail is aborted, and one with too little
traffic waits without writing anything.

The microservice does not export the seldon-core executor's metrics (the
executor, a separate Go process in the predictor pod, does), so the model
here declares its own queries, as spec.analysis allows: the client's
measured responses and the microservice's own rows-served counter.
"""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING, Iterator

import pytest
from canary_prometheus import Stack, prometheus_binary, start_stack, wait_for

from shipyard import envs
from shipyard.serving.server import RUNTIME_DIR

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

pytestmark = pytest.mark.sidecar_env

CLIENT = 'shipyard_client_requests_seconds_count{deployment_name="$model", predictor_version="$version"}'
ROWS = 'shipyard_rows_served_total{deployment_name="$model", predictor_version="$version"}'
BUCKET = 'shipyard_client_requests_seconds_bucket{deployment_name="$model", predictor_version="$version"}'


def analysis_yaml(min_requests: int) -> str:
    """spec.analysis over the metrics the local processes really export."""
    return f"""  analysis:
    window: 10s
    minRequests: {min_requests}
    steps: [10, 25, 50, 100]
    requests: 'sum(increase({CLIENT}[$window]))'
    metrics:
      errorRate:
        query: '(sum(increase({CLIENT[:-1]}, code!~"2.."}}[$window])) or vector(0)) / sum(increase({CLIENT}[$window]))'
        max: 0.05
      latencyP95:
        query: 'histogram_quantile(0.95, sum by (le) (rate({BUCKET}[$window])))'
        max: 1.0
        tolerance: 0.5
      servedShare:
        query: '(sum(increase({ROWS}[$window])) or vector(0)) / sum(increase({CLIENT}[$window]))'
        better: higher
        min: 0.5  # two targets' counters, scraped at different moments: the ratio is near 1, not exactly 1
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = prometheus_binary()
    if binary is None:
        pytest.skip("Debian's prometheus 2.42 server is not installed (tools/install.py installs it with promtool)")
    env = envs.ensure("seldon", envs.toolkit_root()).env
    folder = tmp_path_factory.mktemp("canary-prometheus")
    model_dir = folder / "iris"
    model_dir.mkdir()
    subprocess.run([str(env.python), str(RUNTIME_DIR / "reference_iris.py"), str(model_dir / "model.joblib")],
                   check=True, timeout=120)
    stack = start_stack(binary, env, model_dir, folder,
                        servers=[("iris", "default", "1.0.0"), ("iris", "canary", "1.1.0"), ("iris", "canary", "1.2.0")],
                        traffic=[("1.0.0", "good", 20), ("1.1.0", "good", 20), ("1.2.0", "bad", 20)])
    try:
        for version in ("1.1.0", "1.2.0"):
            wait_for(stack.url, f'sum(increase(shipyard_client_requests_seconds_count{{predictor_version="{version}"}}[10s]))', 40)
        wait_for(stack.url, 'sum(increase(shipyard_rows_served_total{predictor_version="1.1.0"}[10s]))', 40)
        yield stack
    finally:
        stack.stop()


def _declare(lc: LifecycleRepo, min_requests: int = 40) -> None:
    text = lc.read("models/iris/model.yaml")
    lc.write("models/iris/model.yaml", text.replace("  versions:\n", analysis_yaml(min_requests) + "  versions:\n", 1))
    lc.commit_all("declare the canary analysis")


def _canary(lc: LifecycleRepo, env: str, version: str, traffic: int, *extra: str) -> None:
    if env == "production":
        assert lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-branch").code == 0
        assert lc.shipyard("promote", "iris", "--to", "staging", "--no-branch").code == 0
    run = lc.shipyard("promote", "iris", "--to", env, "--version", version, "--canary", str(traffic), "--no-branch", *extra)
    assert run.code == 0, run.err


def test_healthy_canary_steps_to_the_next_traffic_step(lc: LifecycleRepo, stack: Stack) -> None:
    _declare(lc)
    _canary(lc, "production", "1.1.0", 10)
    run = lc.shipyard("rollout", "iris", "--env", "production", "--analyze", "--prometheus-url", stack.url)
    assert run.code == 0, run.err
    assert lc.branch == "canary/iris-production-1.1.0-25"
    assert [(p[0], p[2]) for p in lc.predictors("production")] == [("default", 75), ("canary", 25)]
    assert "## Canary analysis: step to 25%" in run.out
    assert "| metric | canary `1.1.0` | stable `1.0.0` | threshold | verdict |" in run.out
    assert "| errorRate | 0 | 0 | ≤ 0.05 | pass |" in run.out
    assert re.search(r"\| servedShare \| [0-9.]+ \| [0-9.]+ \| ≥ 0.5 \| pass \|", run.out)
    assert not lc.dirty()


def test_canary_at_the_last_step_finishes(lc: LifecycleRepo, stack: Stack) -> None:
    _declare(lc)
    _canary(lc, "production", "1.1.0", 50)
    run = lc.shipyard("rollout", "iris", "--env", "production", "--analyze", "--prometheus-url", stack.url)
    assert run.code == 0, run.err
    assert lc.branch == "rollout/iris-production-1.1.0-finish"
    assert [(p[0], p[2]) for p in lc.predictors("production")] == [("default", 100)]
    assert lc.rendered("production")["iris"]["spec"]["predictors"][0]["labels"]["version"] == "1.1.0"
    assert "## Canary analysis: finish" in run.out


def test_failing_canary_is_aborted(lc: LifecycleRepo, stack: Stack) -> None:
    _declare(lc)
    assert lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-branch").code == 0
    assert lc.shipyard("promote", "iris", "--to", "staging", "--no-branch").code == 0
    before = lc.pin("staging")
    _canary(lc, "staging", "1.2.0", 10, "--force", "--reason", "try 1.2.0")
    run = lc.shipyard("rollout", "iris", "--env", "staging", "--analyze", "--prometheus-url", stack.url)
    assert run.code == 0, run.err
    assert lc.branch == "rollout/iris-staging-1.2.0-abort"
    assert lc.pin("staging") == before
    assert "## Canary analysis: abort (SY518)" in run.out
    assert "| errorRate | 1 | 0 | ≤ 0.05 | fail |" in run.out
    assert re.search(r"\| servedShare \| 0 \| [0-9.]+ \| ≥ 0.5 \| fail \|", run.out)


def test_too_little_traffic_waits_and_writes_nothing(lc: LifecycleRepo, stack: Stack) -> None:
    _declare(lc, min_requests=100000)
    _canary(lc, "production", "1.1.0", 10)
    head, pin = lc.head, lc.pin("production")
    run = lc.shipyard("rollout", "iris", "--env", "production", "--analyze", "--prometheus-url", stack.url)
    assert run.code == 75, run.err
    assert run.out.startswith("wait: the canary served ")
    assert "fewer than the 100000 needed" in run.out
    assert lc.head == head and lc.pin("production") == pin and not lc.dirty()


def test_unreachable_prometheus_is_a_clear_error(lc: LifecycleRepo, stack: Stack) -> None:
    _declare(lc)
    _canary(lc, "production", "1.1.0", 10)
    head = lc.head
    run = lc.shipyard("rollout", "iris", "--env", "production", "--analyze", "--prometheus-url", "http://127.0.0.1:9")
    assert run.code == 2
    assert "cannot reach Prometheus at http://127.0.0.1:9" in run.err and "Traceback" not in run.err
    assert lc.head == head and not lc.dirty()


def test_the_prometheus_url_comes_from_shipyard_yaml(lc: LifecycleRepo, stack: Stack,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPYARD_PROMETHEUS_URL", raising=False)
    _declare(lc, min_requests=100000)
    lc.write("shipyard.yaml", lc.read("shipyard.yaml") + f"prometheus:\n  url: {stack.url}\n")
    lc.commit_all("name the Prometheus")
    _canary(lc, "production", "1.1.0", 10)
    assert lc.shipyard("rollout", "iris", "--env", "production", "--analyze").code == 75
    monkeypatch.setenv("SHIPYARD_PROMETHEUS_URL", "http://127.0.0.1:9")  # the variable wins over the file
    assert "cannot reach Prometheus at http://127.0.0.1:9" in lc.shipyard("rollout", "iris", "--env", "production",
                                                                           "--analyze").err
