"""Serving figures: side-env creation, server start time, and request latency on loopback.

Trains the iris estimator in .venv-seldon, starts seldon-core 1.17.1's
microservice on 127.0.0.1 (shipyard.serving), and sends a bounded number
of sequential predictions: REST with plain HTTP from this process, gRPC
with seldon-core's SeldonClient. Prints p50/p99. Loopback only; stops by
itself.

  python benchmarks/serving.py [--requests 500] [--starts 3] [--env-creation]

--env-creation also times building .venv-seldon from scratch in a temporary
folder (pip's cache makes repeats faster than a first run on a new machine).
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from shipyard import envs
from shipyard.serving.artifact import sha256_file
from shipyard.serving.server import RUNTIME_DIR, SeldonServer, pick_ports

ROOT = Path(__file__).resolve().parents[1]

BODY = json.dumps({"data": {"ndarray": [[5.1, 3.5, 1.4, 0.2]]}}).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def rest_latencies(port: int, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/api/v1.0/predictions", body=BODY, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 200:
            raise SystemExit(f"prediction failed with HTTP {response.status}")
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def grpc_latencies(env: envs.SideEnv, endpoint: str, count: int) -> list[float]:
    done = subprocess.run(
        [str(env.python), str(RUNTIME_DIR / "probe.py"), "--transport", "grpc", "--endpoint", endpoint,
         "--data", "[[5.1, 3.5, 1.4, 0.2]]", "--payload", "tensor", "--repeat", str(count)],
        capture_output=True, text=True, timeout=600, check=True,
    )
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    if not outcome["success"]:
        raise SystemExit(f"gRPC prediction failed: {outcome['msg']}")
    return [float(v) for v in outcome["latencies_ms"]]


def time_env_creation() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tools" / "envs").mkdir(parents=True)
        shutil.copyfile(ROOT / "tools" / "envs" / "seldon.txt", root / "tools" / "envs" / "seldon.txt")
        return envs.ensure("seldon", root).seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--env-creation", action="store_true")
    args = parser.parse_args()

    if args.env_creation:
        print(f"side env creation (.venv-seldon from tools/envs/seldon.txt): {time_env_creation():.1f} s")
    result = envs.ensure("seldon", envs.toolkit_root())
    if result.created:
        print(f"side env creation (.venv-seldon, first use): {result.seconds:.1f} s")
    env = result.env

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "iris"
        folder.mkdir()
        subprocess.run([str(env.python), str(RUNTIME_DIR / "reference_iris.py"), str(folder / "model.joblib")], check=True, timeout=120)
        digest = sha256_file(folder / "model.joblib")
        starts = []
        for i in range(args.starts):
            server = SeldonServer(env, folder, pick_ports(), Path(tmp) / f"server-{i}.log", sha256=digest)
            starts.append(server.start())
            server.stop()
        print(f"serving start time (to REST, gRPC and metrics ready), {args.starts} starts: "
              f"median {statistics.median(starts):.2f} s, max {max(starts):.2f} s")

        with SeldonServer(env, folder, pick_ports(), Path(tmp) / "server.log", sha256=digest) as server:
            rest_latencies(server.ports.http, 20)  # warm-up
            rest = rest_latencies(server.ports.http, args.requests)
            print(f"REST  {args.requests} sequential requests on loopback: p50 {percentile(rest, 50):.2f} ms, "
                  f"p99 {percentile(rest, 99):.2f} ms, max {max(rest):.2f} ms")
            grpc = grpc_latencies(env, server.grpc_endpoint, args.requests)
            print(f"gRPC  {args.requests} sequential SeldonClient calls:   p50 {percentile(grpc, 50):.2f} ms, "
                  f"p99 {percentile(grpc, 99):.2f} ms, max {max(grpc):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
