"""JSON Schemas that objects are validated against.

``kubernetes`` holds the built-in kinds of each Kubernetes minor version (the
schema sets kubernetes-validate ships); ``crds`` turns CustomResourceDefinitions
into JSON Schema as the API server applies them; ``cache`` maintains the
pinned CRD schemas shipped with the toolkit for CRDs the repository does not
install itself (Flux, Argo CD, prometheus-operator, KFP v2beta1).
"""
