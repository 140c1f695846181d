"""validate: render every target, run every check, return one report.

Flow: repository files -> render (kustomize, helm; cached by content, in
parallel) -> objects with their source file -> checks -> findings (waived
where the repository says so, with a reason) -> one report.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from shipyard.checks import load_all
from shipyard.checks.context import CheckContext, RenderedTarget
from shipyard.errors import ShipyardError
from shipyard.findings import Finding, dedupe
from shipyard.render.cache import RenderCache
from shipyard.render.engine import Renderer
from shipyard.render.mirror import Mirror
from shipyard.repo import Cluster, Repository, normalise_kube_version


@dataclass
class Report:
    findings: list[Finding]
    targets: list[RenderedTarget]
    waived: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def object_count(self) -> int:
        return sum(len(t.objects) for t in self.targets)


@dataclass(frozen=True)
class TargetSpec:
    """What to render: a repository-relative path and the context it runs in."""

    path: str
    kind: str
    kube_version: str
    cluster: Cluster | None = None
    environment: str | None = None
    engine: str | None = None


def default_kube_version(repo: Repository) -> str:
    defaults = repo.config.get("defaults") or {}
    value = defaults.get("kubernetesVersion", "1.33") if isinstance(defaults, dict) else "1.33"
    line = _line_of_key(repo.root / "shipyard.yaml", "kubernetesVersion")
    if not isinstance(value, str):
        raise ShipyardError(
            f"defaults.kubernetesVersion must be a quoted string, not {value!r}", file="shipyard.yaml", line=line,
            hint='quote it, like kubernetesVersion: "1.33" (unquoted, 1.30 reads as the number 1.3)',
        )
    return normalise_kube_version(value, "shipyard.yaml", line=line)


def _line_of_key(path: Path, key: str) -> int | None:
    """The first line where ``key:`` is written in ``path`` (for errors)."""
    try:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if text.lstrip().startswith(f"{key}:"):
                return number
    except (OSError, UnicodeDecodeError):
        return None
    return None


def environment_kube_version(repo: Repository, env: str, clusters: list[Cluster]) -> str:
    """The newest Kubernetes version among the environment's clusters: an
    overlay must be valid wherever it is deployed, and removals bite newest."""
    versions = [c.kubernetes_version for c in clusters if c.environment == env]
    if not versions:
        return default_kube_version(repo)
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def all_targets(repo: Repository) -> list[TargetSpec]:
    clusters = repo.clusters()
    specs = [
        TargetSpec(f"overlays/{env}", "overlay", environment_kube_version(repo, env, clusters), environment=env)
        for env in repo.environments()
    ]
    for cluster in clusters:
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
        return TargetSpec(str(path), "file" if path.is_file() else "kustomization", default_kube_version(repo))
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
    return TargetSpec(rel, "file" if path.is_file() else "kustomization", default_kube_version(repo))


def render_target(renderer: Renderer, spec: TargetSpec) -> RenderedTarget:
    if Path(spec.path).is_absolute():
        from shipyard.load import load_file

        loaded = load_file(Path(spec.path), spec.path, target=spec.path)
        return RenderedTarget(spec.path, spec.kind, loaded.objects, spec.kube_version, findings=loaded.findings)
    result = renderer.render_path(spec.path, spec.path, spec.kube_version)
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
    engines deploy) are rendered once and reused."""
    done = [0]
    lock = threading.Lock()

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


def make_renderer(repo: Repository, *, use_cache: bool = True) -> Renderer:
    mirror = Mirror.from_setting(repo.mirror, base=repo.root)
    cache = RenderCache(repo.root / ".shipyard-cache", enabled=use_cache)
    return Renderer(repo, mirror=mirror, cache=cache)


def run_checks(ctx: CheckContext, only: set[str] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for target in ctx.targets:
        findings.extend(target.findings)
    for check_id, info in sorted(load_all().items()):
        if info.run is None or (only and check_id not in only):
            continue
        findings.extend(info.run(ctx))
    if only:
        findings = [f for f in findings if f.check in only]
    return findings


def validate(
    repo: Repository,
    paths: list[str] | None = None,
    *,
    use_cache: bool = True,
    jobs: int = 2,
    only: set[str] | None = None,
    renderer: Renderer | None = None,
    cwd: Path | None = None,
    changed_since: str | None = None,
    progress: Progress | None = None,
) -> Report:
    """Render and check ``paths`` (default: every overlay and entry point;
    with ``changed_since``, only the targets a change since that git ref reaches)."""
    started = time.perf_counter()
    if paths:
        specs = [target_for_path(repo, p, cwd) for p in paths]
    else:
        specs = all_targets(repo)
    if changed_since:
        from shipyard.changes import affected, changed_files

        specs = affected(repo, specs, changed_files(repo, changed_since))
    renderer = renderer or make_renderer(repo, use_cache=use_cache)
    try:
        targets = render_all(renderer, specs, jobs, progress)
        context_crds: list = []
        if paths and targets:
            # A single file or folder is checked against the CRDs the whole
            # repository installs (rendered from cache when warm).
            context = render_all(renderer, [s for s in all_targets(repo) if s.kind == "entrypoint"], jobs)
            context_crds = [o for t in context for o in t.objects if o.kind == "CustomResourceDefinition"]
    finally:
        if renderer.mirror:
            renderer.mirror.close()
    rendered = time.perf_counter()
    ctx = CheckContext(targets=targets, repo=repo, context_crds=context_crds)
    findings = run_checks(ctx, only)
    full_run = not paths and not changed_since and not only
    kept, waived = apply_waivers(repo, ctx, findings, report_unused=full_run)
    done = time.perf_counter()
    return Report(
        findings=dedupe(kept),
        targets=targets,
        waived=dedupe(waived),
        timings={"render": rendered - started, "checks": done - rendered, "total": done - started},
    )


def apply_waivers(
    repo: Repository, ctx: CheckContext, findings: list[Finding], *, report_unused: bool
) -> tuple[list[Finding], list[Finding]]:
    """Waivers are judged only where they can be: a stale waiver (SY391) is
    reported on full runs, never when only part of the repository was seen."""
    from shipyard import waivers

    objects = {obj.ref: obj for _, obj in ctx.objects()}
    return waivers.apply_waivers(
        findings, objects, repo.config, config_file=repo.root / "shipyard.yaml", report_unused=report_unused
    )
