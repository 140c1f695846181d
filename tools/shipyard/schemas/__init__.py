"""JSON Schemas that objects are validated against, and what the API server
does around them.

``kubernetes`` holds the built-in kinds of each Kubernetes minor version (the
schema sets kubernetes-validate ships); ``crds`` turns CustomResourceDefinitions
into JSON Schema as the API server applies them; ``cache`` maintains the
pinned CRD schemas shipped with the toolkit for CRDs the repository does not
install itself (Flux, Argo CD, prometheus-operator, KFP v2beta1).
``structural`` is the rest of the API server's order around that schema
(nulls pruned and defaults applied before it; embedded resources and
list-type sets and maps after it), ``cel`` the CRDs' validation rules,
``list_key_defaults`` the defaults of Kubernetes' own list-map keys, and
``metadata`` ObjectMeta as the API server validates it.
"""
