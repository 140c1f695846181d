"""Start seldon-core 1.17.1's microservice bound to loopback only.

Runs inside .venv-seldon. It is `seldon-core-microservice` (same arguments,
same main()) with one difference: seldon-core writes the address "0.0.0.0"
into its REST, metrics and gRPC servers, and a contract test or a person's
`shipyard serve` must not open ports on every interface. Before main() runs,
this launcher rewrites those binds to 127.0.0.1:

- REST and metrics: gunicorn options built by seldon_core.microservice and
  handed to gunicorn_utils.StandaloneApplication (UserModelApplication
  inherits it);
- gRPC: the port reservation socket and each worker's bind address.

A ModelLoadError from the model class (missing, corrupt or mismatching
artifact) is printed as one line and exits 3, with no traceback.

Usage: python launch.py sklearn_server.SKLearnServer --http-port ... (the
microservice's own flags).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys

HOST = "127.0.0.1"
EXIT_MODEL_LOAD = 3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import seldon_core.gunicorn_utils as gunicorn_utils  # type: ignore[import-not-found]  # noqa: E402
import seldon_core.microservice as microservice  # type: ignore[import-not-found]  # noqa: E402
from parent_watch import watch_parent  # type: ignore[import-not-found]  # noqa: E402
from sklearn_server import ModelLoadError  # type: ignore[import-not-found]  # noqa: E402


def _loopback(address: str) -> str:
    return address.replace("0.0.0.0", HOST)


_original_init = gunicorn_utils.StandaloneApplication.__init__


def _standalone_init(self, app, options=None):  # type: ignore[no-untyped-def]
    if options and "bind" in options:
        options = {**options, "bind": _loopback(str(options["bind"]))}
    _original_init(self, app, options)


@contextlib.contextmanager
def _reserve_grpc_port(grpc_port: int):  # type: ignore[no-untyped-def]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((HOST, grpc_port))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


_original_run_grpc = microservice._run_grpc_server


def _run_grpc_server(user_object, seldon_metrics, args, annotations, bind_address):  # type: ignore[no-untyped-def]
    return _original_run_grpc(user_object, seldon_metrics, args, annotations, _loopback(bind_address))


gunicorn_utils.StandaloneApplication.__init__ = _standalone_init
microservice._reserve_grpc_port = _reserve_grpc_port
microservice._run_grpc_server = _run_grpc_server


def main() -> int:
    watch_parent()
    sys.argv = ["seldon-core-microservice", *sys.argv[1:]]
    try:
        microservice.main()
    except ModelLoadError as exc:
        print(f"error: cannot serve the model: {exc}", file=sys.stderr, flush=True)
        return EXIT_MODEL_LOAD
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
