"""Models as data: model.yaml read once (spec), the version components
generated from it (components), where each version is pinned (pins), the
rules a version must meet (rules), and which version runs where (status).

Everything here only reads the repository. Changes (register, promote,
rollout, rollback) live in `shipyard.lifecycle`; the checks (SY5xx), `status`
and the lifecycle commands share these readers and these rules.

Layout (docs/models.md):

    models/<m>/model.yaml                       declaration + registered versions
    models/<m>/deploy/                          kustomize base: the SeldonDeployment
    models/<m>/monitoring/                      kustomize base: PodMonitor + PrometheusRule
    models/<m>/versions/<v>/                    Component: version v as the stable predictor
    models/<m>/versions/<v>/canary/             Component: version v as a canary predictor
    overlays/<env>/models/kustomization.yaml    the models of an environment (one folder each)
    overlays/<env>/models/<m>/kustomization.yaml  the pin: which components, replicas, traffic
"""

from __future__ import annotations

API_VERSION = "shipyard.dev/v1alpha1"
SELDON_GROUP = "machinelearning.seldon.io"
SELDON_KIND = "SeldonDeployment"
VERSION_LABEL = "shipyard.dev/model-version"
CANARY_LABEL = "shipyard.dev/canary-version"
CANARY_PREDICTOR = "canary"
REQUEST_LOGGING = "monitoring/request-logging"
"""The Component under models/<model>/ that adds the predictors' request
logger; pins of monitored environments list it before the version's."""
