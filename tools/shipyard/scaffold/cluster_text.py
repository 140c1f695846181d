"""The files of a new cluster, in the shapes of clusters/staging: cluster.yaml,
the Argo CD entry point (AppProjects, the root app of apps, one Application
per step in sync-wave order) and the Flux entry point (GitRepository
flux-system/shipyard and the Kustomizations cluster -> platform -> charts ->
models). Only text here; what goes into it is decided in scaffold.cluster."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.scaffold.common import yaml_scalar

# What the GPU operator's feature discovery labels GPU nodes with, and the
# taint a GPU node pool carries (docs/manifests.md, prerequisites).
GPU_NODE_SELECTOR = '{nvidia.com/gpu.present: "true"}'
GPU_TOLERATIONS = "[{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]"

# The cluster-scoped kinds the platform and its charts install: the same
# list every cluster's AppProject `shipyard` allows.
CLUSTER_KINDS = (
    ('""', "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("nvidia.com", "ClusterPolicy"),
    ("nvidia.com", "NVIDIADriver"),
    ("nvidia.com", "GPUCluster"),
    ("nfd.k8s-sigs.io", "NodeFeatureRule"),
)
IN_CLUSTER = "https://kubernetes.default.svc"
_RETRY = """    retry:
      limit: 5
      backoff:
        duration: 10s
        factor: 2
        maxDuration: 3m
"""


@dataclass(frozen=True)
class ClusterFacts:
    """Everything the files of one cluster say."""

    name: str
    environment: str
    kubernetes_version: str  # "1.34"
    engines: tuple[str, ...]
    gpus: int
    istio: bool
    monitored: bool  # the environment's pins include monitoring: prometheus-operator comes first
    repo_url: str
    branch: str
    chart_repos: tuple[str, ...]  # the chart repositories the environment's Argo CD releases use
    namespaces: tuple[str, ...]  # every namespace the platform and the releases write to


def cluster_yaml(f: ClusterFacts) -> str:
    lines = [
        f"# Cluster {f.name}: environment {f.environment}, made by `shipyard new cluster`.",
        "# Say here what sets it apart (provider, region, who runs it).",
        "apiVersion: shipyard.dev/v1alpha1",
        "kind: Cluster",
        "metadata:",
        f"  name: {yaml_scalar(f.name)}",
        "spec:",
        f"  environment: {yaml_scalar(f.environment)}",
        f'  kubernetesVersion: "{f.kubernetes_version}"',
        f"  engines: [{', '.join(f.engines)}]",
    ]
    if f.istio:
        lines.append(f"  # Traffic splitting (canaries) through Istio: environment {f.environment}'s charts install it.")
    lines.append(f"  istio: {'true' if f.istio else 'false'}")
    lines.append("  gpu:")
    if f.gpus:
        lines += [
            f"    capacity: {f.gpus}{' ' * max(1, 18 - len(str(f.gpus)))}# total nvidia.com/gpu schedulable",
            "    # Set on GPU nodes by the GPU operator's feature discovery.",
            f"    nodeSelector: {GPU_NODE_SELECTOR}",
            "    # The node pool taints GPU nodes so only GPU workloads land there.",
            f"    tolerations: {GPU_TOLERATIONS}",
        ]
    else:
        lines.append("    capacity: 0")
    if f.monitored:
        lines += [
            "  # Served before any GitOps engine syncs: the platform team's own",
            "  # prometheus-operator (docs/manifests.md, prerequisites).",
            "  prerequisites:",
            "    crdGroups: [monitoring.coreos.com]",
        ]
    return "\n".join(lines) + "\n"


def argocd_kustomization(f: ClusterFacts) -> str:
    env = f.environment
    charts = "operators, Istio" if f.istio else "operators"
    return f"""# Argo CD entry point of cluster {f.name} (environment {env}): an app of apps.
#
# Bootstrap once, with Argo CD installed (see docs/manifests.md):
#   kubectl apply -f clusters/{f.name}/argocd/appproject.yaml -f clusters/{f.name}/argocd/root.yaml
# The root Application then syncs this folder, itself included, in sync-wave
# order (Argo CD must assess Application health for waves to wait; see the
# prerequisites):
#   -1  the AppProject
#    0  platform       overlays/{env}: namespaces, CRDs, Kubeflow, policies
#  1-4  chart releases overlays/{env}/charts/argocd ({charts})
#   10  models         overlays/{env}/models: the SeldonDeployments
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- appproject.yaml
- root.yaml
- applications.yaml
- ../../../overlays/{env}/charts/argocd
"""


def appproject(f: ClusterFacts) -> str:
    repos = "\n".join(f"  - {r}" for r in (f.repo_url, *f.chart_repos))
    destinations = "\n".join(f"  - {{server: {IN_CLUSTER}, namespace: {ns}}}" for ns in f.namespaces)
    kinds = "\n".join(f"  - {{group: {g}, kind: {k}}}" for g, k in CLUSTER_KINDS)
    return f"""# The platform and charts of cluster {f.name} sync through this project (the
# models through `shipyard-models` below): this repository and
# the pinned chart repositories, into the namespaces the environment uses,
# and only the cluster-scoped kinds the platform and its charts install.
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: shipyard
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "-1"
spec:
  description: Shipyard ML platform and operators (environment {f.environment})
  sourceRepos:
{repos}
  destinations:
{destinations}
  clusterResourceWhitelist:
{kinds}
---
# The models step (Application `models`, overlays/<env>/models) syncs
# through a project of its own: it is what model pull requests change, so
# it may write only what a model folder holds (SeldonDeployments and their
# PodMonitors and PrometheusRules), only in namespace models, and nothing
# cluster-scoped. A model change that adds a RoleBinding, a Secret or a
# Deployment fails to sync instead of running with the platform's rights.
# docs/security.md.
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: shipyard-models
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "-1"
spec:
  description: "Shipyard models (cluster {f.name}): SeldonDeployments and their monitors only"
  sourceRepos:
  - {f.repo_url}
  destinations:
  - {{server: {IN_CLUSTER}, namespace: models}}
  clusterResourceWhitelist: []
  namespaceResourceWhitelist:
  - {{group: machinelearning.seldon.io, kind: SeldonDeployment}}
  - {{group: monitoring.coreos.com, kind: PodMonitor}}
  - {{group: monitoring.coreos.com, kind: PrometheusRule}}
  # A model's drift check and dashboard (models/<m>/monitoring/, docs/monitoring.md):
  # a CronJob (the namespace's default service account, no rights), its egress
  # NetworkPolicy toward monitoring, the Grafana dashboard ConfigMap.
  - {{group: batch, kind: CronJob}}
  - {{group: networking.k8s.io, kind: NetworkPolicy}}
  - {{group: "", kind: ConfigMap}}
  # The request-log sink the predictors' graph.logger posts to (request-sink.yaml).
  - {{group: apps, kind: Deployment}}
  - {{group: "", kind: Service}}
"""


def root(f: ClusterFacts) -> str:
    return f"""# The root of the app of apps: syncs clusters/{f.name}/argocd (this file
# included), so every change to the cluster's entry point goes through git.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shipyard-root
  namespace: argocd
spec:
  project: shipyard
  destination:
    server: {IN_CLUSTER}
    namespace: argocd
  source:
    repoURL: {f.repo_url}
    targetRevision: {yaml_scalar(f.branch)}
    path: clusters/{f.name}/argocd
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
"""


def applications(f: ClusterFacts) -> str:
    env = f.environment
    return f"""# The environment's plain-kustomize paths. The chart releases come from
# overlays/{env}/charts/argocd (listed in kustomization.yaml), between these
# two in sync-wave order.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: platform
  namespace: argocd
  annotations:
    # First: the namespaces every release and model goes into, and the
    # Kubeflow CRDs.
    argocd.argoproj.io/sync-wave: "0"
  finalizers:
  - resources-finalizer.argocd.argoproj.io
spec:
  project: shipyard
  destination:
    server: {IN_CLUSTER}
    # Every object of the platform names its namespace; this is only the
    # default for one that would not.
    namespace: kubeflow
  source:
    repoURL: {f.repo_url}
    targetRevision: {yaml_scalar(f.branch)}
    path: overlays/{env}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    # Argo Workflows' CRDs (from KFP) are too large for client-side apply.
    - ServerSideApply=true
{_RETRY}---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: models
  namespace: argocd
  annotations:
    # Last: the SeldonDeployment CRD and operator come from the
    # seldon-core release (wave 3).
    argocd.argoproj.io/sync-wave: "10"
  finalizers:
  - resources-finalizer.argocd.argoproj.io
spec:
  # Least privilege: see the project in appproject.yaml.
  project: shipyard-models
  destination:
    server: {IN_CLUSTER}
    namespace: models
  source:
    repoURL: {f.repo_url}
    targetRevision: {yaml_scalar(f.branch)}
    path: overlays/{env}/models
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
{_RETRY}"""


def flux_kustomization(f: ClusterFacts) -> str:
    env = f.environment
    paths = [f"overlays/{env}", f"overlays/{env}/charts/flux", f"overlays/{env}/models"]
    width = max(len(p) for p in paths) + 2
    platform, charts, models = (p.ljust(width) for p in paths)
    return f"""# Flux entry point of cluster {f.name} (environment {env}).
#
# Bootstrap once, with Flux installed (see docs/manifests.md):
#   kubectl apply -k clusters/{f.name}/flux
# The Kustomization `cluster` then keeps this folder itself in sync. The
# environment is applied in three dependent steps:
#   platform  {platform}namespaces, CRDs, Kubeflow, policies
#   charts    {charts}HelmReleases (waits until Ready)
#   models    {models}the SeldonDeployments
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- gitrepository.yaml
- kustomizations.yaml
"""


def gitrepository(f: ClusterFacts) -> str:
    return f"""# This repository (repository.url in shipyard.yaml). Every Kustomization of
# the cluster, and base/istio's seldon-gateway, names it: flux-system/shipyard.
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: shipyard
  namespace: flux-system
spec:
  interval: 1m
  url: {f.repo_url}
  ref:
    branch: {yaml_scalar(f.branch)}
"""


def flux_kustomizations(f: ClusterFacts) -> str:
    env = f.environment
    source = """  sourceRef:
    kind: GitRepository
    name: shipyard
"""
    return f"""# The entry point itself: changes to clusters/{f.name}/flux apply through git.
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cluster
  namespace: flux-system
spec:
  interval: 10m
  prune: true
  path: ./clusters/{f.name}/flux
{source}---
# 1. The platform: namespaces, CRDs, Kubeflow, network policies.
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: platform
  namespace: flux-system
spec:
  interval: 10m
  retryInterval: 1m
  timeout: 10m
  prune: true
  path: ./overlays/{env}
{source}---
# 2. The chart releases, once their namespaces exist. Ready only when every
# HelmRelease (and Kustomization) in it is: the operators are running.
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: charts
  namespace: flux-system
spec:
  dependsOn:
  - name: platform
  interval: 10m
  retryInterval: 1m
  # GPU driver containers build a kernel module on first start.
  timeout: 20m
  prune: true
  wait: true
  path: ./overlays/{env}/charts/flux
{source}---
# 3. The models, once the SeldonDeployment CRD and operator are in place.
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: models
  namespace: flux-system
spec:
  dependsOn:
  - name: charts
  interval: 5m
  retryInterval: 1m
  timeout: 10m
  prune: true
  path: ./overlays/{env}/models
{source}"""
