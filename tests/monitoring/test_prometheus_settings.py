"""Which Prometheus canary analysis asks: one per environment, or one for all.

shipyard.yaml's prometheus section takes ``url`` (every environment),
``environments`` (environment -> URL) or both (the map wins for the
environments it names); --prometheus-url and $SHIPYARD_PROMETHEUS_URL still
win over the file. Bad shapes and unknown environments are refused with the
file and line. The last case asks a real Prometheus (Debian's server on
loopback, test_prometheus_client's fixture) through the URL chosen for an
environment, and an unreachable one through the other's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.monitoring.prometheus import PrometheusError, prometheus_url, query_number
from shipyard.repo import Repository
from shipyard.serving.server import free_port

from test_prometheus_client import prometheus  # noqa: F401 - the real server, as a fixture

ROOT = Path(__file__).resolve().parents[2]
SHIPYARD = str(ROOT / ".venv" / "bin" / "shipyard")


def _repo(tmp_path: Path, prometheus_section: str) -> Repository:
    for env in ("dev", "staging", "production"):
        (tmp_path / "overlays" / env).mkdir(parents=True, exist_ok=True)
        (tmp_path / "overlays" / env / "kustomization.yaml").write_text("resources: []\n")
    (tmp_path / "shipyard.yaml").write_text("defaults: {kubernetesVersion: '1.33'}\n" + prometheus_section)
    return Repository.load(tmp_path)


@pytest.fixture(autouse=True)
def _no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPYARD_PROMETHEUS_URL", raising=False)


def test_one_url_serves_every_environment(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "prometheus:\n  url: http://prometheus-operated.monitoring:9090\n")
    for env in ("dev", "staging", "production", None):
        assert prometheus_url(repo, None, env) == "http://prometheus-operated.monitoring:9090"
    assert repo.settings.prometheus_url == "http://prometheus-operated.monitoring:9090"


def test_each_environment_its_own_and_url_for_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path, "prometheus:\n  url: http://shared:9090\n  environments:\n"
                           "    staging: https://prometheus.staging.example.com\n"
                           "    production: https://prometheus.production.example.com/\n")
    assert prometheus_url(repo, None, "staging") == "https://prometheus.staging.example.com"
    assert prometheus_url(repo, None, "production") == "https://prometheus.production.example.com/"
    assert prometheus_url(repo, None, "dev") == "http://shared:9090"
    # the command line, then the variable, still name one server for the run
    assert prometheus_url(repo, "http://given:9090", "staging") == "http://given:9090"
    monkeypatch.setenv("SHIPYARD_PROMETHEUS_URL", "http://variable:9090")
    assert prometheus_url(repo, None, "production") == "http://variable:9090"
    assert prometheus_url(repo, "http://given:9090", "production") == "http://given:9090"


def test_an_environment_without_a_prometheus_is_told_which(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "prometheus:\n  environments:\n    production: http://prod:9090\n")
    assert prometheus_url(repo, None, "production") == "http://prod:9090"
    with pytest.raises(ShipyardError) as raised:
        prometheus_url(repo, None, "staging")
    assert raised.value.message == "shipyard.yaml names no Prometheus for staging"
    assert "add staging: URL under prometheus.environments" in str(raised.value.hint)


@pytest.mark.parametrize(("section", "message", "line"), [
    ("prometheus:\n  environments:\n    prod: http://prod:9090\n", "prometheus.environments names 'prod', which is no environment", 4),
    ("prometheus:\n  environments:\n    staging: prometheus:9090\n",
     "prometheus.environments.staging must be an http:// or https:// URL, not 'prometheus:9090'", 4),
    ("prometheus:\n  environments: [http://a:9090]\n", "prometheus.environments must map environments to URLs", 3),
    ("prometheus:\n  urls: http://a:9090\n", "prometheus has no setting 'urls'", 3),
    ("prometheus: {}\n", "prometheus names no url and no environments", 2),
])
def test_bad_settings_name_the_file_and_line(tmp_path: Path, section: str, message: str, line: int) -> None:
    repo = _repo(tmp_path, section)
    with pytest.raises(ShipyardError) as raised:
        prometheus_url(repo, None, "staging")
    assert raised.value.message.startswith(message), raised.value.message
    assert raised.value.file == "shipyard.yaml" and raised.value.line == line


def test_the_command_reports_a_bad_environment_name_without_a_traceback(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    copy.mkdir()
    for path in ("shipyard.yaml", "overlays", "models", "clusters", "base"):
        source = ROOT / path
        if source.is_dir():
            subprocess.run(["cp", "-r", str(source), str(copy / path)], check=True)
        else:
            (copy / path).write_text(source.read_text())
    with (copy / "shipyard.yaml").open("a") as fh:
        fh.write("prometheus:\n  environments:\n    prod: http://127.0.0.1:9\n")
    done = subprocess.run([SHIPYARD, "rollout", "iris", "--env", "production", "--analyze", "--repo", str(copy)],
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2, done.stderr
    assert "shipyard.yaml" in done.stderr and "'prod', which is no environment" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_environment_s_url_is_the_one_asked(tmp_path: Path, prometheus: str) -> None:  # noqa: F811
    dead = f"http://127.0.0.1:{free_port()}"
    repo = _repo(tmp_path, f"prometheus:\n  url: {dead}\n  environments:\n    staging: {prometheus}\n")
    assert query_number(prometheus_url(repo, None, "staging"), 'sum(up{job="self"})') == 1.0
    with pytest.raises(PrometheusError, match=f"cannot reach Prometheus at {dead}"):
        query_number(prometheus_url(repo, None, "production"), "up")
