"""Rendering: turn repository paths into Kubernetes objects with the real
kustomize and helm binaries, then expand the GitOps objects (Flux
Kustomizations and HelmReleases, Argo CD Applications) the way each engine
would, so validate checks what a cluster would receive."""
