"""Shipyard: keep a GitOps repository for machine learning on Kubernetes correct.

The package is a library first; `shipyard.cli` is a thin layer over it so
that tests call the same functions a user's command does.
"""

__version__ = "0.1.0"
