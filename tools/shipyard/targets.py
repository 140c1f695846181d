"""What to render: the targets of a run (every overlay and cluster entry
point, or the paths a user named), the Kubernetes version each is checked
against, and the one constructor of a Renderer.

validate, render, diff, status, the lifecycle commands and the e2e plan all
select and render targets here, so they agree on what a path means.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from shipyard.errors import ShipyardError
from shipyard.objects import K8sObject
from shipyard.render.cache import RenderCache
from shipyard.render.engine import Renderer
from shipyard.render.mirror import Mirror
from shipyard.render.target import RenderedTarget
from shipyard.repo import CONFIG_FILE, Cluster, Repository


@dataclass(frozen=True)
class TargetSpec:
    """What to render: a repository-relative path and the context it runs in."""

    path: str
    kind: str  # "overlay" | "entrypoint" | "kustomization" | "file" | "model" (a model no environment pins)
    kube_version: str
    cluster: Cluster | None = None
    environment: str | None = None
    engine: str | None = None


def environment_kube_version(repo: Repository, env: str, clusters: list[Cluster]) -> str:
    """The newest Kubernetes version among the environment's clusters: an
    overlay must be valid wherever it is deployed, and removals bite newest."""
    versions = [c.kubernetes_version for c in clusters if c.environment == env]
    if not versions:
        return repo.settings.default_kube_version
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def all_targets(repo: Repository) -> list[TargetSpec]:
    clusters = repo.clusters()
    specs = [
        TargetSpec(f"overlays/{env}", "overlay", environment_kube_version(repo, env, clusters), environment=env)
        for env in sorted(repo.environments())
    ]
    for cluster in clusters:
        specs += cluster_targets(repo, cluster)
    return specs + pipeline_targets(repo, clusters)


PIPELINE_MANIFESTS = ("deploy", "jobs")
"""What a pipeline folder holds besides code: deploy/ (the Pipeline and
PipelineVersion objects Kubeflow is given) and jobs/ (the Training Operator
jobs and Katib Experiments its steps create)."""


def pipeline_targets(repo: Repository, clusters: list[Cluster]) -> list[TargetSpec]:
    """The manifests of every pipeline under pipelines/: no overlay lists
    them (a pipeline's steps create its jobs at run time), yet each is
    applied to a cluster, so a whole-repository run checks them too, against
    the newest Kubernetes version any cluster runs."""
    root = repo.root / "pipelines"
    if not root.is_dir():
        return []
    versions = [c.kubernetes_version for c in clusters]
    newest = (max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
              if versions else repo.settings.default_kube_version)
    return [TargetSpec(f"pipelines/{folder.name}/{part}", "kustomization", newest)
            for folder in sorted(root.iterdir()) if folder.is_dir()
            for part in PIPELINE_MANIFESTS if (folder / part).is_dir()]


def cluster_targets(repo: Repository, cluster: Cluster) -> list[TargetSpec]:
    """The entry points of one cluster (clusters/<c>/<engine> for each
    engine cluster.yaml declares), which must exist."""
    specs = []
    for engine in cluster.engines:
        path = f"clusters/{cluster.name}/{engine}"
        if not (repo.root / path).exists():
            raise ShipyardError(
                f"cluster {cluster.name} declares engine {engine} but {path} does not exist",
                file=f"clusters/{cluster.name}/cluster.yaml",
                hint=f"create {path}/ or remove {engine} from spec.engines",
                check="SY401",
            )
        specs.append(TargetSpec(path, "entrypoint", cluster.kubernetes_version, cluster, cluster.environment, engine))
    return specs


def model_targets(repo: Repository, model: str) -> list[TargetSpec]:
    """What checking a model means: its pin in every environment that serves
    it (``overlays/<env>/models/<model>``), rendered as that environment
    deploys it (the deploy base with the pinned version component). The
    deploy base alone has no modelUri, by design: the version component
    sets it. A model no environment pins yet is checked through model.yaml
    alone (the SY5xx checks), as an empty target named after its folder."""
    clusters = repo.clusters()
    specs = [
        TargetSpec(f"overlays/{env}/models/{model}", "kustomization", environment_kube_version(repo, env, clusters),
                   environment=env)
        for env in repo.model_environments()
        if (repo.root / "overlays" / env / "models" / model / "kustomization.yaml").is_file()
    ]
    return specs or [TargetSpec(f"models/{model}", "model", repo.settings.default_kube_version)]


def settings_targets(repo: Repository, rel: str) -> list[TargetSpec] | None:
    """The targets a repository path stands for when it is not a manifest
    but a setting or a whole (docs/layout.md), or None for any other path:

    - shipyard.yaml: every target (every target reads it);
    - ``clusters`` and ``clusters/<c>`` (or its cluster.yaml): those
      clusters' entry points, whose objects cluster.yaml's facts describe;
    - ``models``, ``models/<m>`` (or its model.yaml): the models' pins.

    cluster.yaml and model.yaml are shipyard's own files (kind Cluster,
    kind Model), read by the repository and model checks: read as
    Kubernetes objects they would only ever be "unknown kinds"."""
    parts = rel.split("/") if rel not in ("", ".") else []
    if parts == [CONFIG_FILE]:
        return all_targets(repo)
    if parts == ["clusters"]:
        return [s for s in all_targets(repo) if s.kind == "entrypoint"]
    if len(parts) in (2, 3) and parts[0] == "clusters" and parts[2:] in ([], ["cluster.yaml"]):
        if not (repo.root / "clusters" / parts[1] / "cluster.yaml").is_file():
            return None
        return cluster_targets(repo, repo.cluster(parts[1]))
    if parts == ["models"]:
        return [spec for model in repo.models() for spec in model_targets(repo, model)]
    if len(parts) in (2, 3) and parts[0] == "models" and parts[2:] in ([], ["model.yaml"]):
        if not (repo.root / "models" / parts[1] / "model.yaml").is_file():
            return None
        return model_targets(repo, parts[1])
    return None


def target_for_path(repo: Repository, raw: str, cwd: Path | None = None) -> TargetSpec:
    """Classify a command-line PATH: a cluster entry point, an overlay, a
    kustomization folder or a manifest file."""
    path = Path(raw)
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    try:
        path = path.resolve()
    except RuntimeError:  # a symlink loop
        raise ShipyardError("a symlink that leads back to itself", file=raw, hint="fix or remove the symlink") from None
    if not path.exists():
        raise ShipyardError("no such file or folder", file=raw, hint="name an overlay, a kustomization folder or a manifest file")
    if not path.is_file() and not path.is_dir():
        raise ShipyardError("not a file or a folder (a pipe, socket or device cannot be validated)", file=raw,
                            hint="name an overlay, a kustomization folder or a manifest file")
    if not path.is_relative_to(repo.root):
        return TargetSpec(str(path), "file" if path.is_file() else "kustomization", repo.settings.default_kube_version)
    rel = repo.rel(path)
    parts = rel.split("/")
    clusters = repo.clusters()
    if len(parts) >= 3 and parts[0] == "clusters":
        cluster = repo.cluster(parts[1])
        return TargetSpec(rel, "entrypoint", cluster.kubernetes_version, cluster, cluster.environment, parts[2])
    if len(parts) >= 2 and parts[0] == "overlays":
        env = parts[1]
        kind = "overlay" if len(parts) == 2 else ("file" if path.is_file() else "kustomization")
        return TargetSpec(rel, kind, environment_kube_version(repo, env, clusters), environment=env)
    return TargetSpec(rel, "file" if path.is_file() else "kustomization", repo.settings.default_kube_version)


def targets_for_paths(repo: Repository, raws: list[str], cwd: Path | None = None) -> list[TargetSpec]:
    """The targets command-line PATHs name; the repository's root names them
    all (every overlay and entry point, as with no PATH), never its files
    one by one: the root also holds test corpora and other non-manifests."""
    specs: list[TargetSpec] = []
    for raw in raws:
        path = Path(raw) if Path(raw).is_absolute() else (cwd or Path.cwd()) / raw
        try:
            is_root = path.resolve() == repo.root
        except (OSError, RuntimeError):
            is_root = False
        for spec in (all_targets(repo) if is_root else _targets_for_path(repo, raw, cwd)):
            if spec not in specs:
                specs.append(spec)
    return specs


def _targets_for_path(repo: Repository, raw: str, cwd: Path | None) -> list[TargetSpec]:
    """One command-line PATH: what it stands for (``settings_targets``), or
    the one target ``target_for_path`` makes of it."""
    single = target_for_path(repo, raw, cwd)
    if Path(single.path).is_absolute():
        return [single]
    named = settings_targets(repo, single.path)
    if named is None:
        named = alert_test_targets(repo, single)
    return [single] if named is None else named


def alert_test_targets(repo: Repository, single: TargetSpec) -> list[TargetSpec] | None:
    """A promtool unit-test file (``rule_files`` and ``tests`` at the top,
    models/<m>/monitoring/tests/ by convention, docs/monitoring.md) is not a
    Kubernetes object: it stands for the PrometheusRule manifests its
    rule_files name, which are validated (SY317's `promtool check rules`
    included). Its cases run with `promtool test rules`, through
    `python -m shipyard.monitoring.promtool test FILE` and the test suite.
    None for any other file."""
    from shipyard.load import load_documents, read_text

    path = repo.root / single.path
    if single.kind != "file" or path.suffix not in (".yaml", ".yml"):
        return None
    try:
        text = read_text(path, single.path)
        # a manifest is not read twice (a large file's load is most of its check)
        documents = load_documents(text, single.path) if "rule_files" in text else []
    except ShipyardError:
        return None  # not readable YAML: the file's own target reports it
    body = documents[0][0] if len(documents) == 1 else None
    if not (isinstance(body, dict) and "apiVersion" not in body and "kind" not in body
            and isinstance(body.get("rule_files"), list) and "tests" in body):
        return None
    specs: list[TargetSpec] = []
    for name in body["rule_files"]:
        rule_file = (path.parent / str(name)).resolve()
        if not rule_file.is_file() or not rule_file.is_relative_to(repo.root):
            raise ShipyardError(f"rule_files names {name}, which is no file of the repository", file=single.path,
                                hint="rule_files of an alert test name the PrometheusRule manifests it tests, "
                                     "relative to the test file")
        spec = target_for_path(repo, str(rule_file))
        if spec not in specs:
            specs.append(spec)
    return specs


def render_target(renderer: Renderer, spec: TargetSpec) -> RenderedTarget:
    if spec.kind == "model":  # a model no environment pins: nothing is deployed, model.yaml is checked
        return RenderedTarget(spec.path, spec.kind, [], spec.kube_version)
    if Path(spec.path).is_absolute():
        from shipyard.load import load_file
        from shipyard.render.rendered import restore_origins

        loaded = load_file(Path(spec.path), spec.path, target=spec.path)
        restore_origins(Path(spec.path), loaded.objects)
        return RenderedTarget(spec.path, spec.kind, loaded.objects, spec.kube_version, findings=loaded.findings)
    result = renderer.render_path(spec.path, spec.path, spec.kube_version, entry_point=spec.kind == "entrypoint")
    return RenderedTarget(
        name=spec.path,
        kind=spec.kind,
        objects=result.objects,
        kube_version=spec.kube_version,
        cluster=spec.cluster,
        environment=spec.environment,
        engine=spec.engine,
        findings=result.findings,
        charts=result.charts,
    )


Progress = Callable[[int, int, str], None]


def render_all(renderer: Renderer, specs: list[TargetSpec], jobs: int, progress: Progress | None = None) -> list[RenderedTarget]:
    """Render independent targets in parallel; shared inputs (an overlay both
    engines deploy, an upstream base every overlay includes) are rendered
    once and reused (shipyard.render.engine, shared). ``jobs`` is also the
    number of renders a target may prefetch at once."""
    done = [0]
    lock = threading.Lock()
    renderer.workers = max(1, jobs)

    def one(spec: TargetSpec) -> RenderedTarget:
        target = render_target(renderer, spec)
        if progress:
            with lock:
                done[0] += 1
                progress(done[0], len(specs), spec.path)
        return target

    if jobs <= 1 or len(specs) <= 1:
        return [one(s) for s in specs]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, specs))


def make_renderer(repo: Repository, *, use_cache: bool = True, cache_root: Path | None = None,
                  render_releases: bool = False) -> Renderer:
    """The one way a command gets a Renderer: the repository's mirror
    setting (or SHIPYARD_MIRROR), and the render cache (``cache_root``,
    default .shipyard-cache; ``use_cache=False`` renders everything anew).
    ``render_releases``: expand the GitOps objects of a rendered file
    checked alone again (shipyard.render.rendered)."""
    mirror = Mirror.from_setting(repo.mirror, base=repo.root)
    cache = RenderCache(cache_root or repo.root / ".shipyard-cache", enabled=use_cache)
    return Renderer(repo, mirror=mirror, cache=cache, render_releases=render_releases)


def entry_point_crds(renderer: Renderer, repo: Repository, jobs: int = 2) -> list[K8sObject]:
    """Every CustomResourceDefinition the cluster entry points render, in
    the order a run renders them: what the repository installs (the
    source of its CRD index, shipyard.schemas.installed)."""
    targets = render_all(renderer, [s for s in all_targets(repo) if s.kind == "entrypoint"], jobs)
    return [o for t in targets for o in t.objects if o.kind == "CustomResourceDefinition"]


@contextmanager
def open_renderer(repo: Repository, *, use_cache: bool = True, cache_root: Path | None = None) -> Iterator[Renderer]:
    """``make_renderer`` for the length of a ``with`` block; the mirror's
    loopback chart server (when one was started) stops at its end."""
    renderer = make_renderer(repo, use_cache=use_cache, cache_root=cache_root)
    try:
        yield renderer
    finally:
        if renderer.mirror:
            renderer.mirror.close()


def build_folder(repo: Repository, folder: Path, *, use_cache: bool = True) -> list[dict[str, Any]]:
    """The plain objects ``kustomize build folder`` gives, through the one
    renderer (render cache and mirror included)."""
    with open_renderer(repo, use_cache=use_cache) as renderer:
        return renderer.kustomize_bodies(repo.rel(folder))
