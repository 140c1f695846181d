"""Data drift: a detector per model version, built from its training data,
and a scheduled check of the logged requests against it.

``build.py`` and ``job.py`` are scripts that run in .venv-drift (alibi-detect,
tools/envs/drift.txt) or the drift image (Dockerfile); the toolkit never
imports them or alibi-detect. ``detector`` starts build.py, ``publish`` puts
a detector next to its version in the model store
(<store>/<model>/drift/<version>/), ``release`` does both for `shipyard drift
build`, and ``metrics`` lists what job.py writes. The CronJob is a committed
manifest under models/<model>/monitoring/drift.yaml, kept equal to
spec.drift by tests/monitoring/test_drift_manifests.py (docs/monitoring.md,
"Drift").
"""
