"""new cluster: clusters/<name>/cluster.yaml and its entry points for Argo CD
and Flux, pointing at the cluster's own folder and at overlays/<env>.

What differs between clusters is read from the repository rather than
asked for: Istio and the GPU operator come with the environment's charts,
the AppProject's sources are the chart repositories those releases pin,
and its destinations are the namespaces the platform overlay creates plus
those the releases install into. So the new cluster agrees with its
environment the way docs/manifests.md says it must, and `validate` checks
the rest (both engines deploy the same objects, SY406).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.lifecycle.plan import Plan, Rendered, Verify
from shipyard.repo import ENGINES, Repository, normalise_kube_version
from shipyard.scaffold import cluster_text
from shipyard.scaffold.cluster_text import ClusterFacts
from shipyard.scaffold.common import (
    local_documents,
    refuse_existing,
    require_dns_label,
    what_changes,
)

GPU_OPERATOR_CHART = "gpu-operator"
ISTIO_CONTROL_PLANE_CHART = "istiod"
ARGOCD_NAMESPACE = "argocd"


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _is(obj: dict[str, Any], group: str, kind: str) -> bool:
    api = str(obj.get("apiVersion", ""))
    return obj.get("kind") == kind and (api.partition("/")[0] == group if group else "/" not in api)


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def parse_engines(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``argocd,flux`` (or a list) as the engines of a cluster, in the
    repository's order; an unknown or repeated engine is a usage error."""
    items = [e.strip() for e in (text.split(",") if isinstance(text, str) else text)]
    unknown = [e for e in items if e not in ENGINES]
    if unknown or not items:
        raise ShipyardError(f"unknown engine {', '.join(map(repr, unknown)) or '(none)'} in --engines",
                            hint=f"engines are {', '.join(ENGINES)}, comma-separated (default: both)", check=ids.USAGE)
    if len(set(items)) != len(items):
        raise ShipyardError(f"--engines names an engine twice: {','.join(items)}", hint="for example argocd,flux",
                            check=ids.USAGE)
    return tuple(e for e in ENGINES if e in items)


def _kube_version(repo: Repository, env: str, requested: str | None) -> str:
    """``major.minor`` for cluster.yaml: the one asked for, else the newest
    version the environment's clusters run, else shipyard.yaml's default."""
    if requested is not None:
        try:
            version = normalise_kube_version(requested)
        except ShipyardError as exc:
            raise ShipyardError(f"--kubernetes-version: {exc.message}", hint=exc.hint, check=ids.USAGE) from None
    else:
        versions = [c.kubernetes_version for c in repo.clusters() if c.environment == env]
        version = max(versions, key=lambda v: tuple(int(p) for p in v.split("."))) if versions \
            else repo.settings.default_kube_version
    return version.rsplit(".", 1)[0]


def _charts(repo: Repository, env: str, engines: tuple[str, ...]) -> tuple[set[str], list[str], list[str]]:
    """Chart names of the environment's releases (both flavours), and, from
    the Argo CD flavour, the chart repositories and destination namespaces
    its Applications use."""
    names: set[str] = set()
    repos: list[str] = []
    namespaces: list[str] = []
    for engine in ENGINES:
        folder = repo.overlay_path(env) / "charts" / engine
        if not (folder / "kustomization.yaml").is_file():
            if engine in engines:
                raise ShipyardError(
                    f"environment {env} has no {repo.rel(folder)}/kustomization.yaml: the {engine} entry point "
                    "deploys the environment's chart releases from there",
                    hint=f"add the {engine} flavour of {env}'s charts (docs/layout.md, Overlays), "
                    f"or leave {engine} out of --engines", check=ids.USAGE)
            continue
        for obj in local_documents(repo, folder):
            if _is(obj, "helm.toolkit.fluxcd.io", "HelmRelease"):
                chart = _dig(obj, "spec", "chart", "spec", "chart")
                if isinstance(chart, str):
                    names.add(chart)
            elif _is(obj, "argoproj.io", "Application"):
                spec: dict[str, Any] = obj["spec"] if isinstance(obj.get("spec"), dict) else {}
                sources: list[Any] = spec["sources"] if isinstance(spec.get("sources"), list) else [spec.get("source")]
                for source in sources:
                    if isinstance(source, dict) and isinstance(source.get("chart"), str):
                        names.add(source["chart"])
                        repos.append(str(source.get("repoURL", "")))
                namespace = _dig(spec, "destination", "namespace")
                if isinstance(namespace, str):
                    namespaces.append(namespace)
    return names, repos, namespaces


def _platform_namespaces(repo: Repository, env: str) -> list[str]:
    """The namespaces overlays/<env> creates (base/namespaces and the
    components it opts into), in the order it lists them."""
    return [str(_dig(o, "metadata", "name")) for o in local_documents(repo, repo.overlay_path(env))
            if _is(o, "", "Namespace") and _dig(o, "metadata", "name")]


def _verify(name: str, environment: str) -> Verify:
    """After writing: cluster.yaml reads back as the cluster asked for, and
    each entry point builds to objects (apply has just built them)."""

    def verify(repo: Repository, rendered: Rendered) -> None:
        cluster = Repository.load(repo.root).cluster(name)
        if cluster.environment != environment:
            raise ShipyardError(f"clusters/{name}/cluster.yaml reads back as environment {cluster.environment}",
                                file=f"clusters/{name}/cluster.yaml", check=ids.USAGE)
        for folder, objects in rendered.items():
            if not objects:
                raise ShipyardError(f"{repo.rel(folder)} builds to no objects", file=repo.rel(folder), check=ids.USAGE)

    return verify


def plan_new_cluster(repo: Repository, name: str, environment: str, *, kubernetes_version: str | None = None,
                     gpus: int = 0, engines: tuple[str, ...] = ENGINES) -> Plan:
    """The files of cluster ``name`` running ``environment``: cluster.yaml
    and an entry point per engine, modelled on clusters/staging. Refuses a
    bad name, an environment that runs no models, an existing cluster
    folder, and GPUs where the environment installs no GPU operator."""
    require_dns_label("cluster", name)
    known = repo.model_environments()
    if environment not in known:
        raise ShipyardError(f"unknown environment {environment!r}",
                            hint=f"environments are: {', '.join(known) or 'none'} (folders overlays/<env> with models/)",
                            check=ids.USAGE)
    engines = parse_engines(engines)
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise ShipyardError(f"--gpus must be a whole number of GPUs (0 or more), not {gpus!r}", check=ids.USAGE)
    folder = repo.root / "clusters" / name
    refuse_existing(repo, [folder], what=f"cluster {name}")
    if not repo.repository_url:
        raise ShipyardError("shipyard.yaml has no repository.url: the entry points sync from it",
                            file="shipyard.yaml", hint="run `shipyard init --repo-url URL` first", check=ids.USAGE)
    version = _kube_version(repo, environment, kubernetes_version)
    charts, chart_repos, release_namespaces = _charts(repo, environment, engines)
    gpu_operator = GPU_OPERATOR_CHART in charts
    warnings: list[str] = []
    if gpus and not gpu_operator:
        raise ShipyardError(
            f"environment {environment} installs no GPU operator, so cluster {name} could not schedule its {gpus} GPU(s)",
            hint=f"add base/gpu-operator to overlays/{environment}/charts, or leave out --gpus", check=ids.USAGE)
    if not gpus and gpu_operator:
        warnings.append(f"environment {environment} installs the GPU operator but cluster {name} declares no GPUs: "
                        "models that request GPUs will not validate on it (pass --gpus N for its total)")
    facts = ClusterFacts(
        name=name, environment=environment, kubernetes_version=version, engines=engines, gpus=gpus,
        istio=ISTIO_CONTROL_PLANE_CHART in charts, monitored=environment in repo.settings.monitored,
        repo_url=repo.repository_url, branch=repo.settings.target_branch, chart_repos=_unique(chart_repos),
        namespaces=_unique([ARGOCD_NAMESPACE, *_platform_namespaces(repo, environment), *release_namespaces]))
    files: dict[Path, str] = {folder / "cluster.yaml": cluster_text.cluster_yaml(facts)}
    if "argocd" in engines:
        files[folder / "argocd" / "kustomization.yaml"] = cluster_text.argocd_kustomization(facts)
        files[folder / "argocd" / "appproject.yaml"] = cluster_text.appproject(facts)
        files[folder / "argocd" / "root.yaml"] = cluster_text.root(facts)
        files[folder / "argocd" / "applications.yaml"] = cluster_text.applications(facts)
    if "flux" in engines:
        files[folder / "flux" / "kustomization.yaml"] = cluster_text.flux_kustomization(facts)
        files[folder / "flux" / "gitrepository.yaml"] = cluster_text.gitrepository(facts)
        files[folder / "flux" / "kustomizations.yaml"] = cluster_text.flux_kustomizations(facts)
    gpu_line = f"{gpus} (nodeSelector and tolerations of the GPU operator's nodes)" if gpus else "none"
    lines = [f"- Cluster: `{name}` in environment `{environment}` (Kubernetes {version})",
             f"- Engines: {', '.join(engines)}; entry points `clusters/{name}/{{{','.join(engines)}}}`",
             f"- Istio: {'yes' if facts.istio else 'no'} (from the charts of {environment}); GPUs: {gpu_line}",
             f"- Syncs `{repo.repository_url}` at `{repo.settings.target_branch}`"]
    boot = [f"kubectl apply -f clusters/{name}/argocd/appproject.yaml -f clusters/{name}/argocd/root.yaml"
            if e == "argocd" else f"kubectl apply -k clusters/{name}/flux" for e in engines]
    sections = [what_changes(lines),
                "## Next steps\n\n- Bootstrap once (docs/manifests.md):\n" + "\n".join(f"  - `{b}`" for b in boot)
                + f"\n- `shipyard validate clusters/{name}/{engines[0]}` checks what the cluster will hold"]
    return Plan(action="new-cluster", model="", environment=environment, title=f"New cluster {name} ({environment})",
                branch=f"new/cluster-{name}", files=files, sections=sections,
                render=[folder / e for e in engines], verify=_verify(name, environment), warnings=warnings,
                noop=f"cluster {name} already exists")
