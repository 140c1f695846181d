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
from shipyard.repo import Repository
from shipyard.serving.artifact import SKLEARN_SELDON, VerifiedArtifact, local_folder, verify
from shipyard.serving.fetch import fetch
from shipyard.serving.mlserver import MLServerServer
from shipyard.serving.registry import RegisteredVersion, registered_version
from shipyard.serving.runtimes import MLSERVER, Runtime, check_method, graph_name, runtime_for
from shipyard.serving.server import Ports, SeldonServer
from shipyard.serving.store import remote_scheme

SAMPLE_ROW = [5.1, 3.5, 1.4, 0.2]


@dataclass(frozen=True)
class Prepared:
    """A version resolved to a verified local artifact, ready to serve;
    ``fetched_from`` is the remote modelUri it was fetched from, if any
    (``downloaded``: now, rather than found verified in the cache);
    ``runtime`` is the server the cluster runs it with, ``model_name`` the
    name MLServer gives it (the graph node's)."""

    entry: RegisteredVersion
    artifact: VerifiedArtifact
    fetched_from: str | None = None
    downloaded: bool = False
    runtime: Runtime = SKLEARN_SELDON
    model_name: str = ""


def prepare(root: Path, model: str, version: str | None, *, model_dir: Path | None = None, allow_unverified: bool = False,
            log: Callable[[str], None] | None = None) -> Prepared:
    """Resolve ``model``/``version`` from model.yaml, choose its runtime from
    spec.serving and check its artifact, fetching an s3:// or gs:// one
    first; raise before anything starts (or downloads)."""
    entry = registered_version(root, model, version)
    runtime = runtime_for(entry.implementation, entry.protocol, image=entry.image, where=f"{entry.model} {entry.version}",
                          file=entry.file, line=entry.serving_line)
    name = (graph_name(root, model) or model) if runtime.local == MLSERVER else ""
    if model_dir is None and remote_scheme(entry.model_uri):
        settings = Repository.load(root).settings
        fetched = fetch(root, entry, settings.model_store, allow_unverified=allow_unverified, log=log, runtime=runtime)
        return Prepared(entry=entry, artifact=fetched.artifact, fetched_from=fetched.uri, downloaded=fetched.downloaded,
                        runtime=runtime, model_name=name)
    folder = model_dir.resolve() if model_dir is not None else local_folder(entry.model_uri, root)
    return Prepared(entry=entry, artifact=verify(folder, entry, allow_unverified=allow_unverified, runtime=runtime),
                    runtime=runtime, model_name=name)


def build_server(prepared: Prepared, ports: Ports, *, log_path: Path | None = None, method: str | None = None,
                 env_root: Path | None = None, log: Callable[[str], None] | None = None) -> SeldonServer | MLServerServer:
    """The server the cluster would run for a prepared version (seldon-core's
    microservice, or MLServer for protocol v2), with its side environment
    created if needed."""
    check_method(prepared.runtime, method)
    if log_path is None:
        log_path = Path(tempfile.mkdtemp(prefix="shipyard-serve-")) / "server.log"
    sha256 = prepared.artifact.sha256 if prepared.artifact.verified else ""
    if prepared.runtime.local == MLSERVER:
        env = envs.ensure(prepared.runtime.side_env, env_root or envs.toolkit_root(), log=log).env
        return MLServerServer(env, prepared.artifact.folder, ports, log_path, runtime=prepared.runtime,
                              model_name=prepared.model_name or prepared.entry.model,
                              artifact=prepared.artifact.artifact.name, sha256=sha256)
    env = envs.ensure("seldon", env_root or envs.toolkit_root(), log=log).env
    return SeldonServer(env, prepared.artifact.folder, ports, log_path, sha256=sha256, method=method or "predict_proba")


def sample_row(prepared: Prepared) -> list[float]:
    """A row for the banner's curl: the iris row, or zeros of the model's
    width when an XGBoost JSON model says how many features it takes."""
    file = prepared.artifact.artifact
    if file.suffix == ".json" and file.is_file() and file.stat().st_size < 64 << 20:
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
            count = int(doc["learner"]["learner_model_param"]["num_feature"])
        except (OSError, ValueError, KeyError, TypeError):
            return SAMPLE_ROW
        if 0 < count <= 1000:
            return [0.0] * count
    return SAMPLE_ROW


def v2_request(rows: list[list[float]], outputs: list[str] | None = None) -> dict[str, object]:
    """A V2 inference request for numeric rows (one FP64 tensor, as MLServer's NumpyRequestCodec reads)."""
    width = len(rows[0]) if rows else 0
    body: dict[str, object] = {"inputs": [{"name": "input-0", "shape": [len(rows), width], "datatype": "FP64",
                                           "data": [value for row in rows for value in row]}]}
    if outputs:
        body["outputs"] = [{"name": name} for name in outputs]
    return body


def sample_curl(server: SeldonServer | MLServerServer, row: list[float] | None = None) -> str:
    if isinstance(server, MLServerServer):
        body = json.dumps(v2_request([row or SAMPLE_ROW]))
    else:
        body = json.dumps({"data": {"ndarray": [row or SAMPLE_ROW]}})
    return f"curl -s -X POST -H 'Content-Type: application/json' -d '{body}' {server.predict_url}"


def banner(prepared: Prepared, server: SeldonServer | MLServerServer) -> str:
    entry = prepared.entry
    check = "sha256 verified" if prepared.artifact.verified else "sha256 NOT verified (--allow-unverified)"
    lines = [f"Serving {entry.model} {entry.version} from {prepared.artifact.folder} ({check}: {prepared.artifact.sha256[:12]})"]
    if prepared.fetched_from:
        how = "downloaded with rclone" if prepared.downloaded else "a verified copy from the cache"
        lines.append(f"  fetched  {prepared.fetched_from} ({how})")
    if isinstance(server, MLServerServer):
        lines += [
            f"  runtime  {prepared.runtime.label}: MLServer {server.runtime.mlserver_class} "
            f"(the cluster runs {prepared.runtime.cluster_image})",
            f"  REST     {server.infer_url} (V2 inference protocol)",
            f"  ready    {server.ready_url}",
            f"  gRPC     {server.grpc_endpoint} (inference.GRPCInferenceService/ModelInfer, model {server.model_name})",
        ]
    else:
        lines += [
            f"  REST     {server.predict_url}",
            f"  gRPC     {server.grpc_endpoint} (seldon.protos.Model/Predict)",
        ]
    return "\n".join(
        [
            *lines,
            f"  metrics  {server.metrics_url}",
            f"  log      {server.log_path}",
            f"  started in {server.start_seconds or 0:.1f}s; try:",
            f"  {sample_curl(server, sample_row(prepared))}",
            "Stop with Ctrl-C (or SIGTERM).",
        ]
    )


def serve_until_stopped(server: SeldonServer | MLServerServer, out: TextIO, on_ready: Callable[[], str], poll: float = 0.2) -> int:
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
