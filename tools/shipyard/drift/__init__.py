"""Data drift: a detector per model version, built from its training data,
and a scheduled check of the logged requests against it.

``build.py`` and ``job.py`` are scripts that run in .venv-drift (alibi-detect,
tools/envs/drift.txt) or the drift image; the toolkit never imports them or
alibi-detect. ``detector`` starts build.py, ``publish`` puts a detector next
to its version in the model store (<store>/<model>/drift/<version>/), and
``manifests`` writes nothing: the CronJob is a committed manifest under
models/<model>/monitoring/ (docs/monitoring.md).
"""
