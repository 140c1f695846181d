"""`shipyard serve` as a library: resolve, verify, start, wait for a signal, stop.

Kept out of the CLI module so tests drive the same steps a person does.
The wait loop turns SIGTERM and SIGINT (Ctrl-C) into a normal, clean stop:
the handler only sets a flag, the loop notices it and stops the server's
whole process group, so nothing outlives the command.
"""

from __future__ import annotations

import json
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Callable, TextIO

from shipyard import envs
from shipyard.errors import ShipyardError
from shipyard.serving.artifact import VerifiedArtifact, local_folder, verify
from shipyard.serving.registry import RegisteredVersion, registered_version
from shipyard.serving.server import Ports, SeldonServer

SAMPLE_ROW = [5.1, 3.5, 1.4, 0.2]


@dataclass(frozen=True)
class Prepared:
    """A version resolved to a verified local artifact, ready to serve."""

    entry: RegisteredVersion
    artifact: VerifiedArtifact


def prepare(root: Path, model: str, version: str | None, *, model_dir: Path | None = None, allow_unverified: bool = False) -> Prepared:
    """Resolve ``model``/``version`` from model.yaml and check its artifact; raise before anything starts."""
    entry = registered_version(root, model, version)
    folder = model_dir.resolve() if model_dir is not None else local_folder(entry.model_uri, root)
    return Prepared(entry=entry, artifact=verify(folder, entry, allow_unverified=allow_unverified))


def build_server(prepared: Prepared, ports: Ports, *, log_path: Path | None = None, method: str = "predict_proba", env_root: Path | None = None, log: Callable[[str], None] | None = None) -> SeldonServer:
    """A SeldonServer for a prepared version, with .venv-seldon created if needed."""
    env = envs.ensure("seldon", env_root or envs.toolkit_root(), log=log).env
    if log_path is None:
        log_path = Path(tempfile.mkdtemp(prefix="shipyard-serve-")) / "server.log"
    return SeldonServer(
        env, prepared.artifact.folder, ports, log_path,
        sha256=prepared.artifact.sha256 if prepared.artifact.verified else "",
        method=method,
    )


def sample_curl(server: SeldonServer, row: list[float] | None = None) -> str:
    body = json.dumps({"data": {"ndarray": [row or SAMPLE_ROW]}})
    return f"curl -s -X POST -H 'Content-Type: application/json' -d '{body}' {server.predict_url}"


def banner(prepared: Prepared, server: SeldonServer) -> str:
    entry = prepared.entry
    check = "sha256 verified" if prepared.artifact.verified else "sha256 NOT verified (--allow-unverified)"
    return "\n".join(
        [
            f"Serving {entry.model} {entry.version} from {prepared.artifact.folder} ({check}: {prepared.artifact.sha256[:12]})",
            f"  REST     {server.predict_url}",
            f"  gRPC     {server.grpc_endpoint} (seldon.protos.Model/Predict)",
            f"  metrics  {server.metrics_url}",
            f"  log      {server.log_path}",
            f"  started in {server.start_seconds or 0:.1f}s; try:",
            f"  {sample_curl(server)}",
            "Stop with Ctrl-C (or SIGTERM).",
        ]
    )


def serve_until_stopped(server: SeldonServer, out: TextIO, on_ready: Callable[[], str], poll: float = 0.2) -> int:
    """Start ``server``, print ``on_ready()``, and block until SIGINT/SIGTERM or the server dies.

    Returns 0 after a requested stop; raises ShipyardError if the server died on its own."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("serve_until_stopped installs signal handlers: call it from the main thread")
    requested: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        requested.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        print(on_ready(), file=out, flush=True)
        while not requested:
            if not server.alive():
                raise ShipyardError("the model server stopped unexpectedly", hint=f"see the server log: {server.log_path}", check="SY913")
            time.sleep(poll)
        name = signal.Signals(requested[0]).name
        print(f"{name} received: stopping the model server", file=out, flush=True)
        return 0
    finally:
        server.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
