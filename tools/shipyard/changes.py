"""Which targets a change reaches, for ``validate --changed-since REF``.

Files changed since REF (committed, staged, unstaged and untracked) are
matched against each target's inputs, found statically; only the targets a
change reaches are rendered and checked. Settings every target reads
(shipyard.yaml, a cluster's cluster.yaml) select all targets they affect.
"""

from __future__ import annotations

from shipyard import git
from shipyard.render.deps import target_inputs
from shipyard.render.engine import same_repo
from shipyard.repo import Repository
from shipyard.targets import TargetSpec


def changed_files(repo: Repository, ref: str) -> set[str]:
    """Files that differ between ``ref`` and the working tree, untracked included."""
    git.verify_ref(repo.root, ref, "--changed-since")
    hint = "check that the ref exists (git fetch it first in CI: actions/checkout with fetch-depth: 0)"
    changed = set(git.lines(repo.root, "diff", "--name-only", ref, "--", ".", what=f"git diff {ref}", hint=hint))
    changed |= set(git.lines(repo.root, "ls-files", "--others", "--exclude-standard", what="git ls-files", hint=hint))
    prefix = git.lines(repo.root, "rev-parse", "--show-prefix", what="git rev-parse", hint=hint)
    if prefix:  # the repository is a sub-folder of the git work tree
        p = prefix[0]
        changed = {c[len(p):] for c in changed if c.startswith(p)}
    return changed


def affected(repo: Repository, specs: list[TargetSpec], changed: set[str]) -> list[TargetSpec]:
    """The subset of ``specs`` whose inputs changed."""
    if "shipyard.yaml" in changed:
        return list(specs)
    url_ok = lambda url: same_repo(url, repo.repository_url)  # noqa: E731
    chosen = []
    for spec in specs:
        inputs = target_inputs(repo.root, spec.path, url_ok)
        if spec.cluster is not None:
            inputs.add(f"clusters/{spec.cluster.name}/cluster.yaml")
        if inputs & changed:
            chosen.append(spec)
    # Both engines of a cluster are compared with each other: keep them together.
    clusters = {s.cluster.name for s in chosen if s.cluster is not None}
    for spec in specs:
        if spec.cluster is not None and spec.cluster.name in clusters and spec not in chosen:
            chosen.append(spec)
    return chosen
