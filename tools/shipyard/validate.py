"""validate: render every target, run every check, return one report.

Flow: repository files -> render (kustomize, helm; cached by content, in
parallel) -> objects with their source file -> checks -> findings (waived
where the repository says so, with a reason) -> one report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from shipyard.checks import load_all
from shipyard.checks.context import CheckContext
from shipyard.findings import Finding, dedupe
from shipyard.objects import K8sObject
from shipyard.render.engine import Renderer
from shipyard.render.target import RenderedTarget
from shipyard.repo import Repository
from shipyard.targets import Progress, all_targets, entry_point_crds, make_renderer, render_all, targets_for_paths


@dataclass
class Report:
    findings: list[Finding]
    targets: list[RenderedTarget]
    waived: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def object_count(self) -> int:
        return sum(len(t.objects) for t in self.targets)


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
    render_releases: bool = False,
) -> Report:
    """Render and check ``paths`` (default: every overlay and entry point;
    with ``changed_since``, only the targets a change since that git ref reaches).

    A rendered file (``shipyard render --sources`` output) named in
    ``paths`` already holds what its HelmReleases, Flux Kustomizations and
    Argo CD Applications produce: they are not rendered again unless
    ``render_releases``, and each object keeps the origin its ``# Source:``
    line names (see shipyard.render.rendered)."""
    started = time.perf_counter()
    if paths:
        specs = targets_for_paths(repo, paths, cwd)
    else:
        specs = all_targets(repo)
    changed: set[str] | None = None
    if changed_since:
        from shipyard.changes import affected, changed_files, only_model_files

        changed = changed_files(repo, changed_since)
        specs = affected(repo, specs, changed)
        if not only_model_files(repo, changed, changed_since):
            changed = None
    own_renderer = renderer is None
    renderer = renderer or make_renderer(repo, use_cache=use_cache, render_releases=render_releases)
    try:
        if changed is not None and own_renderer:
            renderer.stand_in_unless = changed
        targets = render_all(renderer, specs, jobs, progress)
        if renderer.stood_in and not _stand_ins_hold(repo, targets):
            # A model change that reaches beyond the models: render it all.
            mirror = renderer.mirror
            renderer = make_renderer(repo, use_cache=use_cache, render_releases=render_releases)
            if mirror:
                mirror.close()
            targets = render_all(renderer, specs, jobs, progress)
        context_crds: list[K8sObject] = []
        if (paths or renderer.stood_in) and targets:
            context_crds = installed_crds(repo, renderer, targets, jobs)
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


def _stand_ins_hold(repo: Repository, targets: list[RenderedTarget]) -> bool:
    """After a --changed-since render that left upstream bases out: the
    objects from the models' folders are still of the model kinds only."""
    from shipyard.changes import model_objects_only

    return model_objects_only(repo, [o for t in targets for o in t.objects])


def installed_crds(repo: Repository, renderer: Renderer, targets: list[RenderedTarget], jobs: int) -> list[K8sObject]:
    """The CRDs the whole repository installs, for a run that checks only
    part of it (a file, a folder, an overlay): from the committed index
    (.shipyard/crds, see shipyard.schemas.installed) when the repository
    has one, so nothing the part does not include is rendered; else from a
    render of every cluster entry point (from the render cache when warm)."""
    from shipyard.schemas.installed import read_index

    index = read_index(repo.root)
    if index is not None:
        return index.objects({o.kind for t in targets for o in t.objects})
    return entry_point_crds(renderer, repo, jobs)


def apply_waivers(
    repo: Repository, ctx: CheckContext, findings: list[Finding], *, report_unused: bool
) -> tuple[list[Finding], Sequence[Finding]]:
    """Waivers are judged only where they can be: a stale waiver (SY391) is
    reported on full runs, never when only part of the repository was seen."""
    from shipyard import waivers

    objects = {obj.ref: obj for _, obj in ctx.objects()}
    return waivers.apply_waivers(
        findings, objects, repo.config, line_of=repo.settings.line_of, report_unused=report_unused
    )
