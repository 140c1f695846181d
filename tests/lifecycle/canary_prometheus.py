"""A real Prometheus on loopback scraping real model servers, for the canary
analysis tests.

- Three seldon-core 1.17.1 microservices serve a real iris artifact, each
  started with the environment the seldon-core operator gives a predictor's
  model container (SELDON_DEPLOYMENT_ID, PREDICTOR_ID, PREDICTOR_LABELS), so
  the microservice labels its own metrics with deployment_name,
  predictor_name and predictor_version exactly as in the cluster.
- canary_loadgen.py (in .venv-seldon) sends them predictions and records
  what it got back.
- Prometheus (Debian's prometheus 2.42 server, the package promtool comes
  from) scrapes all of them every second, from a temporary configuration
  and data folder.

Everything listens on 127.0.0.1 and is stopped by ``stop()``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.envs import SideEnv
from shipyard.monitoring.prometheus import query_number
from shipyard.serving.artifact import sha256_file
from shipyard.serving.server import HOST, SeldonServer, free_port, pick_ports

HERE = Path(__file__).resolve().parent
PROMETHEUS_VERSION = "2.42."


class LabelledSeldonServer(SeldonServer):
    """The microservice with a predictor's identity in its environment, the
    variables the operator sets on a model container and seldon-core
    1.17.1's python/seldon_core/env_utils.py reads into every metric's
    labels (SELDON_DEPLOYMENT_ID, PREDICTOR_ID, PREDICTOR_LABELS)."""

    def __init__(self, *args: object, deployment: str, predictor: str, version: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.identity = {"SELDON_DEPLOYMENT_ID": deployment, "PREDICTOR_ID": predictor,
                         "PREDICTOR_LABELS": json.dumps({"version": version}), "PREDICTIVE_UNIT_ID": "classifier"}

    def environment(self) -> dict[str, str]:
        return {**super().environment(), **self.identity}


def prometheus_binary() -> str | None:
    """Debian's prometheus server of the pinned version, if installed."""
    found = shutil.which("prometheus")
    if not found:
        return None
    done = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30)
    return found if f"version {PROMETHEUS_VERSION}" in done.stdout + done.stderr else None


@dataclass
class Stack:
    url: str = ""
    servers: list[SeldonServer] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.terminate()
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with ThreadPoolExecutor(max(1, len(self.servers))) as pool:  # each stop waits out its own grace period
            list(pool.map(lambda s: s.stop(), self.servers))


def start_stack(binary: str, env: SideEnv, model_dir: Path, folder: Path,
                servers: list[tuple[str, str, str]], traffic: list[tuple[str, str, float]]) -> Stack:
    """``servers``: (deployment, predictor, version) each served by its own
    microservice; ``traffic``: (version, good|bad, requests per second)."""
    stack = Stack()
    try:
        sha = sha256_file(model_dir / "model.joblib")
        by_version: dict[str, SeldonServer] = {}
        for deployment, predictor, version in servers:
            server = LabelledSeldonServer(env, model_dir, pick_ports(), folder / f"server-{version}.log", sha256=sha,
                                          deployment=deployment, predictor=predictor, version=version)
            stack.servers.append(server)
            by_version[version] = server
        with ThreadPoolExecutor(len(stack.servers)) as pool:  # each start waits on its own ports
            list(pool.map(lambda s: s.start(), stack.servers))
        load_port = free_port()
        targets = [f"{deployment},{version},{by_version[version].predict_url},{kind},{rate}"
                   for (deployment, _p, version) in servers for (v, kind, rate) in traffic if v == version]
        with (folder / "loadgen.log").open("wb") as log:
            stack.processes.append(subprocess.Popen(
                [str(env.python), str(HERE / "canary_loadgen.py"), "--metrics-port", str(load_port),
                 *[a for t in targets for a in ("--target", t)]],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT))
        scrape = [f"{HOST}:{s.ports.metrics}" for s in stack.servers] + [f"{HOST}:{load_port}"]
        config = folder / "prometheus.yml"
        config.write_text("\n".join([
            "global: {scrape_interval: 1s, evaluation_interval: 1s}",
            "scrape_configs:",
            "- job_name: models",
            "  static_configs:",
            f"  - targets: {json.dumps(scrape)}",
        ]) + "\n")
        port = free_port()
        with (folder / "prometheus.log").open("wb") as log:
            stack.processes.append(subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
                 f"--web.listen-address={HOST}:{port}", "--web.enable-lifecycle"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT))
        stack.url = f"http://{HOST}:{port}"
        _wait(lambda: _ready(stack.url), 30, f"Prometheus did not start: {(folder / 'prometheus.log').read_text()[-2000:]}")
        return stack
    except BaseException:
        stack.stop()
        raise


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return int(response.status) == 200
    except OSError:
        return False


def _wait(condition: object, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if condition():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.2)


def wait_for(url: str, expr: str, at_least: float, seconds: float = 40) -> None:
    """Until ``expr`` gives at least ``at_least`` (the window has filled)."""
    _wait(lambda: (query_number(url, expr) or 0) >= at_least, seconds, f"{expr} stayed below {at_least}")
