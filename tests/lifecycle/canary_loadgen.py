"""Traffic for the canary analysis tests, measured as a client sees it.

Runs in .venv-seldon (prometheus_client comes with seldon-core). Sends real
Seldon-protocol predictions to real seldon-core microservices, each target
at its own rate and with either a valid row or a row of the wrong shape
(which the model refuses with HTTP 400), and records every response it
really got, status code and seconds taken, in a histogram Prometheus
scrapes: ``shipyard_client_requests_seconds{deployment_name,
predictor_version, code}``. On a cluster the seldon-core executor is the
client in front of the model and measures the same things; the
microservice itself counts only the rows it served
(``shipyard_rows_served_total``), never a refused request.

Usage: canary_loadgen.py --metrics-port P --target DEPLOYMENT,VERSION,URL,good|bad,PER_SECOND ...
Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
import urllib.error
import urllib.request

from prometheus_client import Histogram, start_http_server  # type: ignore[import-not-found]

ROWS = {"good": [[5.1, 3.5, 1.4, 0.2]], "bad": [[5.1, 3.5]]}
SECONDS = Histogram("shipyard_client_requests_seconds", "Predictions sent, by the status code answered",
                    ["deployment_name", "predictor_version", "code"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))


def send(url: str, rows: list[list[float]]) -> str:
    body = json.dumps({"data": {"ndarray": rows}}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
            return str(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return str(exc.code)
    except OSError:
        return "unreachable"


def drive(stop: threading.Event, deployment: str, version: str, url: str, kind: str, per_second: float) -> None:
    pause = 1.0 / per_second
    while not stop.is_set():
        started = time.perf_counter()
        code = send(url, ROWS[kind])
        SECONDS.labels(deployment, version, code).observe(time.perf_counter() - started)
        stop.wait(max(0.0, pause - (time.perf_counter() - started)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics-port", type=int, required=True)
    parser.add_argument("--target", action="append", required=True)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    start_http_server(args.metrics_port, addr="127.0.0.1")
    threads = []
    for target in args.target:
        deployment, version, url, kind, rate = target.split(",")
        thread = threading.Thread(target=drive, args=(stop, deployment, version, url, kind, float(rate)), daemon=True)
        thread.start()
        threads.append(thread)
    print("sending", flush=True)
    while not stop.is_set():
        stop.wait(0.2)
    for thread in threads:
        thread.join(timeout=6)


if __name__ == "__main__":
    main()
