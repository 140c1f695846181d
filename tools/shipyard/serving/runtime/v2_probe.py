"""Speak the V2 inference protocol over gRPC with MLServer's own generated stubs; print JSON.

Runs inside .venv-mlserver (the stubs need mlserver, grpcio and protobuf
3.20, which the toolkit's environment cannot hold). The request is the same
V2 JSON a REST client posts to /v2/models/<name>/infer; MLServer's own
converters (mlserver.grpc.converters) turn it into a ModelInferRequest and
the answer back into V2 JSON, so a REST and a gRPC answer compare directly.

Usage: python v2_probe.py --call 127.0.0.1:9500 NAME '{"inputs": [...]}' [--call ...]
Output: {"calls": [{"server_ready": bool, "model_ready": bool, "metadata": {...}, "response": {...} | null,
                    "error": null | {"code": "INVALID_ARGUMENT", "details": "..."}}, ...]}
(one entry per --call, in order; several calls share one start of this script, which imports MLServer.)
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.protobuf import json_format  # type: ignore[import-untyped]
from mlserver import types  # type: ignore[import-not-found]
from mlserver.grpc import dataplane_pb2 as pb, dataplane_pb2_grpc  # type: ignore[import-not-found]
from mlserver.grpc.converters import (  # type: ignore[import-not-found]
    ModelInferRequestConverter,
    ModelInferResponseConverter,
)


def call(endpoint: str, model: str, request_json: str) -> dict[str, Any]:
    """Readiness, metadata and one ModelInfer for ``model`` at ``endpoint``."""
    out: dict[str, Any] = {"server_ready": False, "model_ready": False, "metadata": None, "response": None, "error": None}
    with grpc.insecure_channel(endpoint) as channel:
        stub = dataplane_pb2_grpc.GRPCInferenceServiceStub(channel)
        out["server_ready"] = bool(stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready)
        out["model_ready"] = bool(stub.ModelReady(pb.ModelReadyRequest(name=model), timeout=10).ready)
        metadata = stub.ModelMetadata(pb.ModelMetadataRequest(name=model), timeout=10)
        out["metadata"] = json_format.MessageToDict(metadata, preserving_proto_field_name=True)
        request = types.InferenceRequest.parse_obj(json.loads(request_json))
        message = ModelInferRequestConverter.from_types(request, model_name=model)
        try:
            answer = stub.ModelInfer(message, timeout=30)
        except grpc.RpcError as exc:
            out["error"] = {"code": exc.code().name, "details": exc.details()}
        else:
            out["response"] = json.loads(ModelInferResponseConverter.to_types(answer).json())
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--call", nargs=3, action="append", required=True, metavar=("ENDPOINT", "MODEL", "REQUEST"),
                        help="host:port of MLServer's gRPC server, the model's name (MLSERVER_MODEL_NAME), "
                             "a V2 inference request as JSON")
    args = parser.parse_args()
    print(json.dumps({"calls": [call(*spec) for spec in args.call]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
