"""Run MLServer 1.3.5 on loopback with the settings seldon-core's operator gives it (protocol v2).

For SKLEARN_SERVER, XGBOOST_SERVER and MLFLOW_SERVER under ``protocol: v2``
seldon-core 1.17.1 runs seldonio/mlserver:1.3.5-<runtime>, whose command is
`mlserver start /mnt/models`, and configures the one model entirely through
environment variables (operator/controllers/mlserver.go
getMLServerEnvVars, seldondeployment_controller.go for metrics):

=============================  ==========================================  =================================
variable                       cluster                                     here
=============================  ==========================================  =================================
MLSERVER_MODEL_IMPLEMENTATION  the runtime class of the implementation     the same
MLSERVER_MODEL_NAME            the graph node's name                       the same (read from deploy/)
MLSERVER_MODEL_VERSION         ``v1``                                      the same
MLSERVER_MODEL_URI             /mnt/models (the storage initializer's)     the verified version folder
MLSERVER_HTTP_PORT             9000                                        --port
MLSERVER_GRPC_PORT             9500                                        --grpc-port (default: free)
MLSERVER_METRICS_PORT          6000 (the ``metrics`` container port)       --metrics-port (default: free)
MLSERVER_METRICS_ENDPOINT      /prometheus                                 the same
MLSERVER_HOST                  (unset: 0.0.0.0)                            127.0.0.1
=============================  ==========================================  =================================

Every other MLSERVER_* variable of the caller's environment is dropped, so
a setting on the workstation cannot make the local server differ from the
pod's; MLSERVER_METRICS_DIR (the image's is ./.metrics in /opt/mlserver)
points into a folder of the server's own, next to its log. The server runs from .venv-mlserver (tools/envs/mlserver.txt)
through runtime/mlserver_launch.py, which checks the artifact's sha256
before MLServer starts. Ready means what the operator's readiness probe
asks (/v2/health/ready), plus a gRPC connection and the metrics endpoint.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from shipyard.envs import SideEnv
from shipyard.serving.runtimes import Runtime
from shipyard.serving.folder_digest import covers_folder
from shipyard.serving.server import HOST, RUNTIME_DIR, Ports, ProcessServer, _http_ok

MODEL_VERSION = "v1"  # the operator's MLSERVER_MODEL_VERSION
METRICS_ENDPOINT = "/prometheus"  # the operator's default MLSERVER_METRICS_ENDPOINT
LOAD_FAILED_MARKER = "Some of the models failed to load during startup!"
START_TIMEOUT_SECONDS = 120.0  # MLServer imports its stack and starts a worker process: 5-20 s on 2 shared cores
_WORKER_ERROR = "mlserver.parallel.errors.WorkerError: "  # the inference worker's wrapper around the runtime's own error
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Invalid\w*|Failure)\b.*")


class MLServerServer(ProcessServer):
    """MLServer serving one model folder under the V2 inference protocol."""

    kind = "MLServer model server"

    def __init__(self, env: SideEnv, model_dir: Path, ports: Ports, log_path: Path, *, runtime: Runtime, model_name: str,
                 artifact: str = "", sha256: str = "") -> None:
        super().__init__(env, model_dir, ports, log_path)
        self.runtime = runtime
        self.model_name = model_name
        self.artifact = artifact
        self.sha256 = sha256

    @property
    def infer_url(self) -> str:
        return f"{self.rest_url}/v2/models/{self.model_name}/infer"

    @property
    def predict_url(self) -> str:
        return self.infer_url

    @property
    def ready_url(self) -> str:
        return f"{self.rest_url}/v2/health/ready"

    @property
    def metadata_url(self) -> str:
        return f"{self.rest_url}/v2/models/{self.model_name}"

    @property
    def metrics_url(self) -> str:
        return f"http://{HOST}:{self.ports.metrics}{METRICS_ENDPOINT}"

    def settings(self) -> dict[str, str]:
        """The MLSERVER_* variables the operator writes into the container, for this folder and these ports."""
        return {
            "MLSERVER_MODEL_IMPLEMENTATION": self.runtime.mlserver_class,
            "MLSERVER_MODEL_NAME": self.model_name,
            "MLSERVER_MODEL_VERSION": MODEL_VERSION,
            "MLSERVER_MODEL_URI": str(self.model_dir),
            "MLSERVER_HTTP_PORT": str(self.ports.http),
            "MLSERVER_GRPC_PORT": str(self.ports.grpc),
            "MLSERVER_METRICS_PORT": str(self.ports.metrics),
            "MLSERVER_METRICS_ENDPOINT": METRICS_ENDPOINT,
            "MLSERVER_HOST": HOST,
        }

    def workdir(self) -> Path:
        """A folder of this server's own, next to its log, as its current folder.

        MLServer puts "." on sys.path and keeps its multiprocess Prometheus
        files in ./.metrics (MLSERVER_METRICS_DIR, set to the same place),
        so it runs neither in the toolkit's source tree nor in a folder it
        shares with another server."""
        folder = self.log_path.parent / f"{self.log_path.stem}.mlserver"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in super().environment().items() if not k.startswith("MLSERVER_")}
        env.update(self.settings())
        env["MLSERVER_METRICS_DIR"] = str(self.workdir() / ".metrics")
        return env

    def command(self) -> list[str]:
        command = [str(self.env.python), str(RUNTIME_DIR / "mlserver_launch.py"), str(self.model_dir)]
        if self.artifact:
            command += ["--artifact", self.artifact]
        if self.sha256:
            command += ["--sha256", self.sha256]
            if covers_folder(self.runtime.implementation):
                command.append("--folder-digest")
        return command

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> float:
        return super().start(timeout)

    @property
    def model_ready_url(self) -> str:
        return f"{self.rest_url}/v2/models/{self.model_name}/ready"

    def probes(self) -> dict[str, Callable[[], bool]]:
        """Ready means /v2/health/ready (the operator's readiness probe), the
        model's own /v2/models/<name>/ready, a gRPC connection and the
        metrics endpoint all answer.

        The model's probe matters: a model that fails to load is dropped
        from the registry, and until MLServer has shut itself down the
        server-wide probe answers 200 for a server with no models."""
        return {"rest": lambda: _http_ok(self.ready_url), "model": lambda: _http_ok(self.model_ready_url),
                "grpc": self._grpc_ready, "metrics": lambda: _http_ok(self.metrics_url)}

    def failure_message(self, code: int) -> str:
        """MLServer logs a model that fails to load with a traceback and then shuts
        down; the exception's own line (``xgboost.core.XGBoostError: ...``) is the reason."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        if LOAD_FAILED_MARKER in text:
            after = text.split(LOAD_FAILED_MARKER, 1)[1].splitlines()
            reasons = [line.strip().removeprefix(_WORKER_ERROR) for line in after if _EXCEPTION_LINE.match(line)]
            if reasons:
                return (f"cannot serve the model: {self.runtime.mlserver_class} could not load "
                        f"{self.model_dir / self.artifact if self.artifact else self.model_dir}: {reasons[-1][:500]}")
        return super().failure_message(code)
