"""Send one prediction with seldon-core's own SeldonClient; print the outcome as JSON.

Runs inside .venv-seldon (the client needs seldon_core and grpcio, which the
toolkit's environment cannot hold). Used by the contract tests and the
benchmark to speak the Seldon protocol exactly as Seldon's client does, over
REST or gRPC, to a microservice on loopback.

Usage: python probe.py --transport grpc --endpoint 127.0.0.1:5000 \
           --data '[[5.1, 3.5, 1.4, 0.2]]' [--payload ndarray|tensor] [--repeat N]
Output: {"success": bool, "msg": str, "response": {...} | null, "latencies_ms": [...]}
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np  # type: ignore[import-not-found]
from google.protobuf import json_format  # type: ignore[import-untyped]
from seldon_core.seldon_client import SeldonClient  # type: ignore[import-not-found]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", choices=("rest", "grpc"), required=True)
    parser.add_argument("--endpoint", required=True, help="host:port of the microservice")
    parser.add_argument("--data", required=True, help="JSON array of rows")
    parser.add_argument("--payload", choices=("ndarray", "tensor"), default="ndarray")
    parser.add_argument("--repeat", type=int, default=1, help="send the request N times, sequentially")
    args = parser.parse_args()

    data = np.array(json.loads(args.data))
    client = SeldonClient(microservice_endpoint=args.endpoint)
    latencies = []
    result = None
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        result = client.microservice(method="predict", transport=args.transport, data=data, payload_type=args.payload)
        latencies.append((time.perf_counter() - started) * 1000.0)
        if not result.success:
            break
    assert result is not None
    response = result.response
    if hasattr(response, "DESCRIPTOR"):  # gRPC answers with a SeldonMessage proto
        response = json_format.MessageToDict(response)
    print(json.dumps({"success": bool(result.success), "msg": str(result.msg), "response": response, "latencies_ms": latencies}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
