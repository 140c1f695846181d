"""Run a model server on loopback and stop it without leftovers.

ProcessServer is what every local server shares; SeldonServer is seldon-core
1.17.1's microservice (the Seldon protocol), and
shipyard.serving.mlserver.MLServerServer is MLServer (protocol v2).

seldon-core's microservice is several processes (a gunicorn master and worker for REST,
a gRPC server and its workers, a gunicorn pair for metrics). Killing only the
first leaves the rest running, so the server is started in its own session
and process group, and stopping it signals the whole group: SIGTERM first
(gunicorn shuts down gracefully), SIGKILL for whatever is still there after
the grace period, then waits until no process of the group is left.

MLServer is a process and its inference worker; the same group handling
stops both. For SeldonServer, readiness means all three ports answer: REST
/health/ping, a TCP connect on gRPC, and metrics /metrics. If the server
exits first, the launcher's one-line reason (missing, corrupt or
mismatching artifact) becomes the error message.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Callable, Self

from shipyard.errors import ShipyardError
from shipyard.envs import SideEnv

HOST = "127.0.0.1"
RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
INTERFACE = "sklearn_server.SKLearnServer"
LOAD_ERROR_PREFIX = "error: cannot serve the model: "
START_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Ports:
    http: int
    grpc: int
    metrics: int


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pick_ports(http: int | None = None, grpc: int | None = None, metrics: int | None = None) -> Ports:
    """Ports for the three servers: the ones asked for (checked free) or free ones."""
    chosen: list[int] = []
    for label, port in (("REST", http), ("gRPC", grpc), ("metrics", metrics)):
        if port is None:
            port = free_port()
            while port in chosen:
                port = free_port()
        else:
            _check_free(label, port)
            if port in chosen:
                raise ShipyardError(f"{label} port {port} is already used by another server of this model", hint="give each of --port, --grpc-port, --metrics-port its own port", check="SY913")
        chosen.append(port)
    return Ports(*chosen)


def _check_free(label: str, port: int) -> None:
    if not 0 < port < 65536:
        raise ShipyardError(f"{label} port {port} is not a TCP port", hint="use a number between 1024 and 65535", check="SY913")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise ShipyardError(f"{label} port {port} on {HOST} is not available: {exc.strerror}", hint="pick another port", check="SY913") from None


class ProcessServer:
    """A model server run as its own process group on loopback, as a context manager.

    Subclasses say what to run (``command``, ``environment``), what "ready"
    means (``probes``) and how to read a start-up failure from the log
    (``failure_message``); starting, waiting and stopping the whole group
    are the same for every server."""

    kind = "model server"

    def __init__(self, env: SideEnv, model_dir: Path, ports: Ports, log_path: Path) -> None:
        self.env = env
        self.model_dir = model_dir
        self.ports = ports
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None

    @property
    def rest_url(self) -> str:
        return f"http://{HOST}:{self.ports.http}"

    @property
    def grpc_endpoint(self) -> str:
        return f"{HOST}:{self.ports.grpc}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The server's environment: ours without Python and virtualenv
        variables, which would make the side environment's interpreter
        import from the toolkit's."""
        return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}

    def probes(self) -> dict[str, Callable[[], bool]]:
        raise NotImplementedError

    def workdir(self) -> Path:
        """The server's current folder."""
        return RUNTIME_DIR

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> float:
        """Start the server and wait until every probe answers; return seconds taken."""
        if self.process is not None:
            raise RuntimeError("server already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=self.workdir(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.environment(), start_new_session=True,
            )
        try:
            self._wait_ready(started + timeout, timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - started
        return self.start_seconds

    def _wait_ready(self, deadline: float, timeout: float) -> None:
        assert self.process is not None
        pending = self.probes()
        while pending:
            code = self.process.poll()
            if code is not None:
                raise ShipyardError(self.failure_message(code), hint=f"full server log: {self.log_path}", check="SY913")
            for name, probe in list(pending.items()):
                if probe():
                    del pending[name]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise ShipyardError(
                    f"the {self.kind} did not answer on {', '.join(sorted(pending))} within {timeout:.0f}s",
                    hint=f"see the server log: {self.log_path}", check="SY913",
                )
            time.sleep(0.1)

    def _grpc_ready(self) -> bool:
        try:
            with socket.create_connection((HOST, self.ports.grpc), timeout=0.5):
                return True
        except OSError:
            return False

    def failure_message(self, code: int) -> str:
        """The reason the server exited before it was ready: the launcher's
        one line (``error: cannot serve the model: ...``) if it printed one,
        else the end of the log."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        for line in text.splitlines():
            if line.startswith(LOAD_ERROR_PREFIX):
                return line[len("error: "):]
        tail = "\n".join(text.strip().splitlines()[-10:])
        return f"the {self.kind} exited with code {code} before it was ready:\n{tail}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop every process of the server's group; safe to call twice."""
        if self.process is None:
            return
        pgid = self.process.pid  # start_new_session: the group id is the leader's pid
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(pgid, self.process):
            time.sleep(0.05)
        if _group_alive(pgid, self.process):
            _signal_group(pgid, signal.SIGKILL)
            end = time.monotonic() + 5
            while time.monotonic() < end and _group_alive(pgid, self.process):
                time.sleep(0.05)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class SeldonServer(ProcessServer):
    """seldon-core-microservice serving one model folder (the Seldon protocol)."""

    kind = "model server"

    def __init__(
        self,
        env: SideEnv,
        model_dir: Path,
        ports: Ports,
        log_path: Path,
        *,
        sha256: str = "",
        method: str = "predict_proba",
    ) -> None:
        super().__init__(env, model_dir, ports, log_path)
        self.sha256 = sha256
        self.method = method

    @property
    def predict_url(self) -> str:
        return f"{self.rest_url}/api/v1.0/predictions"

    @property
    def metrics_url(self) -> str:
        return f"http://{HOST}:{self.ports.metrics}/metrics"

    def command(self) -> list[str]:
        parameters = [
            {"name": "model_uri", "value": str(self.model_dir), "type": "STRING"},
            {"name": "method", "value": self.method, "type": "STRING"},
            {"name": "sha256", "value": self.sha256, "type": "STRING"},
        ]
        return [
            str(self.env.python), str(RUNTIME_DIR / "launch.py"), INTERFACE,
            "--service-type", "MODEL",
            "--http-port", str(self.ports.http),
            "--grpc-port", str(self.ports.grpc),
            "--metrics-port", str(self.ports.metrics),
            "--workers", "1",
            "--parameters", json.dumps(parameters),
            "--log-level", "WARNING",
        ]

    def probes(self) -> dict[str, Callable[[], bool]]:
        """Ready means REST /health/ping, a gRPC connection and /metrics all answer."""
        return {"rest": self._rest_ready, "grpc": self._grpc_ready, "metrics": self._metrics_ready}

    def _rest_ready(self) -> bool:
        return _http_ok(f"{self.rest_url}/health/ping")

    def _metrics_ready(self) -> bool:
        return _http_ok(self.metrics_url)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int, leader: subprocess.Popen[bytes]) -> bool:
    leader.poll()  # reap the leader if it has exited, so it does not count as alive
    return bool(group_members(pgid))


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) pids of a process group, from /proc: what tests check after stop()."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append(int(entry.name))
    return members
