"""Serve a registered model version on loopback with the server the cluster runs for it.

The contract between training and serving: what a pipeline registers in
models/<model>/model.yaml (a folder holding the artifact, and its sha256)
is exactly what the cluster's prepackaged server will load. This package
proves it locally: it resolves a version's modelUri (registry), picks the
runtime seldon-core 1.17.1 would run for the model's implementation and
protocol (runtimes), checks the artifact and its digest before anything
starts (artifact, fetch), and runs either seldon-core's Python microservice
from .venv-seldon with our SKLEARN_SERVER-compatible model class (server),
or MLServer 1.3.5 from .venv-mlserver with the operator's settings
(mlserver), bound to 127.0.0.1. The files under runtime/ run inside those
side environments and are never imported here.
"""
