"""Data drift: a detector per model version, built from its training data,
the requests the predictors log, and a scheduled check of those requests
against the detector.

``build.py`` and ``job.py`` are scripts that run in .venv-drift (alibi-detect,
tools/envs/drift.txt) or the drift image (Dockerfile); the toolkit's
commands never import alibi-detect. ``sink`` (standard library only, in the
drift image) receives seldon-core's request-logger events and writes them to
<store>/<model>/requests/, reusing job.py's reader of them. ``detector`` starts build.py, ``publish`` puts
a detector next to its version in the model store
(<store>/<model>/drift/<version>/), ``release`` does both for `shipyard drift
build`, and ``metrics`` lists what job.py writes. The CronJob is a committed
manifest under models/<model>/monitoring/drift.yaml, kept equal to
spec.drift by tests/monitoring/test_drift_manifests.py (docs/monitoring.md,
"Drift").
"""
