"""`shipyard serve` as a person runs it: banner, predictions, and a clean stop on a signal."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.sidecar_env

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


def _repo_with_version(tmp_path: Path, model_dir: Path) -> Path:
    root = tmp_path / "repo"
    store = tmp_path / "store" / "iris" / "2.0.0"
    store.mkdir(parents=True)
    shutil.copyfile(model_dir / "model.joblib", store / "model.joblib")
    digest = hashlib.sha256((store / "model.joblib").read_bytes()).hexdigest()
    (root / "models" / "iris").mkdir(parents=True)
    (root / "shipyard.yaml").write_text("repository: {url: https://example.com/r.git}\n")
    (root / "models" / "iris" / "model.yaml").write_text(
        "apiVersion: shipyard.dev/v1alpha1\nkind: Model\nmetadata: {name: iris}\nspec:\n  versions:\n"
        f"  - version: 2.0.0\n    modelUri: file://{store}\n    sha256: {digest}\n    metrics: {{accuracy: 0.97}}\n"
    )
    return root


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_url_answers_and_stops_cleanly(sig: signal.Signals, seldon_env, iris_model_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = _repo_with_version(tmp_path, iris_model_dir)
    port, grpc_port, metrics_port = _free_port(), _free_port(), _free_port()
    proc = subprocess.Popen(
        [SHIPYARD, "serve", "iris", "--repo", str(root), "--port", str(port), "--grpc-port", str(grpc_port), "--metrics-port", str(metrics_port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = []
        deadline = time.monotonic() + 90
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner.append(line)
            if line.startswith("Stop with Ctrl-C"):
                break
        text = "".join(banner)
        assert f"REST     http://127.0.0.1:{port}/api/v1.0/predictions" in text, text + (proc.stderr.read() if proc.poll() is not None else "")
        assert "Serving iris 2.0.0" in text and "sha256 verified" in text
        curl = next(line.strip() for line in banner if line.strip().startswith("curl "))
        body = curl.split("-d '", 1)[1].split("'", 1)[0]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1.0/predictions", data=body.encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["data"]["names"] == ["setosa", "versicolor", "virginica"]

        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert f"{sig.name} received: stopping the model server" in out
        for p in (port, grpc_port, metrics_port):
            assert not _port_open(p), f"port {p} still open after stop"
        assert _processes_mentioning(str(tmp_path / "store")) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_killed_outright_leaves_no_server_behind(seldon_env, iris_model_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL gives `shipyard serve` no chance to stop its server: the server's
    own watchdog sees its parent gone and stops its whole process group."""
    root = _repo_with_version(tmp_path, iris_model_dir)
    port, grpc_port, metrics_port = _free_port(), _free_port(), _free_port()
    proc = subprocess.Popen(
        [SHIPYARD, "serve", "iris", "--repo", str(root), "--port", str(port), "--grpc-port", str(grpc_port),
         "--metrics-port", str(metrics_port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line.startswith("Stop with Ctrl-C"):
                break
        assert _port_open(port), proc.stderr.read() if proc.poll() is not None else "server did not start"
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (_processes_mentioning(str(tmp_path / "store")) or _port_open(port)):
            time.sleep(0.25)
        assert _processes_mentioning(str(tmp_path / "store")) == [], "server outlived a killed `shipyard serve`"
        for p in (port, grpc_port, metrics_port):
            assert not _port_open(p), f"port {p} still open"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _processes_mentioning(str(tmp_path / "store")):
            try:
                import os
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
