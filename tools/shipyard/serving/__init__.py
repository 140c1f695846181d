"""Serve a registered model version with seldon-core's own microservice, on loopback.

The contract between training and serving: what a pipeline registers in
models/<model>/model.yaml (a folder holding model.joblib, and its sha256) is
exactly what SKLEARN_SERVER will load on the cluster. This package proves it
locally: it resolves a version's modelUri (registry), checks the artifact
and its digest before anything starts (artifact), and runs seldon-core
1.17.1's Python microservice from .venv-seldon with our SKLEARN_SERVER-
compatible model class, bound to 127.0.0.1 (server). The files under
runtime/ run inside .venv-seldon and are never imported here.
"""
