"""Which targets a change reaches, for ``validate --changed-since REF``.

Files changed since REF (committed, staged, unstaged and untracked) are
matched against each target's inputs, found statically; only the targets a
change reaches are rendered and checked. Settings every target reads
(shipyard.yaml, a cluster's cluster.yaml) select all targets they affect.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.render.deps import target_inputs
from shipyard.render.engine import same_repo
from shipyard.repo import Repository


def git_lines(repo: Path, *args: str) -> list[str]:
    try:
        proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, errors="replace", timeout=60,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ShipyardError("git is not installed", hint="install git: comparing refs reads the history", check="SY901") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ShipyardError(f"git {' '.join(args)} failed: {exc}", check="SY904") from None
    if proc.returncode != 0:
        raise ShipyardError(
            f"git {' '.join(args)}: {proc.stderr.strip() or 'failed'}",
            hint="check that the ref exists (git fetch it first in CI: actions/checkout with fetch-depth: 0)",
            check="SY904",
        )
    return [line for line in proc.stdout.splitlines() if line.strip()]


_REF_HINT = ("list refs with `git branch -a` and `git tag`; in CI fetch the history and the base branch "
             "(actions/checkout with fetch-depth: 0)")


def verify_ref(root: Path, ref: str, option: str) -> None:
    """A clear error unless ``ref`` names a commit in the repository at
    ``root``; ``option`` is the command-line option that gave it. A ref that
    starts with "-" is refused outright: git would read it as an option."""
    if not ref.strip() or ref.startswith("-") or any(c.isspace() or ord(c) < 32 for c in ref):
        raise ShipyardError(f"{option} {ref!r} is not a git ref", hint="name a branch, a tag or a commit", check="SY904")
    try:
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=root,
                              capture_output=True, text=True, errors="replace", timeout=60, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ShipyardError("git is not installed", hint="install git: comparing refs reads the history", check="SY901") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ShipyardError(f"git rev-parse {ref} failed: {exc}", check="SY904") from None
    if proc.returncode == 0:
        return
    if "not a git repository" in proc.stderr:
        raise ShipyardError(f"{root} is not in a git repository, so {option} has no history to compare with",
                            hint="run inside a clone of the repository", check="SY904")
    raise ShipyardError(f"{option} {ref!r}: no branch, tag or commit of that name in this repository",
                        hint=_REF_HINT, check="SY904")


def changed_files(repo: Repository, ref: str) -> set[str]:
    """Files that differ between ``ref`` and the working tree, untracked included."""
    verify_ref(repo.root, ref, "--changed-since")
    changed = set(git_lines(repo.root, "diff", "--name-only", ref, "--", "."))
    changed |= set(git_lines(repo.root, "ls-files", "--others", "--exclude-standard"))
    prefix = git_lines(repo.root, "rev-parse", "--show-prefix")
    if prefix:  # the repository is a sub-folder of the git work tree
        p = prefix[0]
        changed = {c[len(p):] for c in changed if c.startswith(p)}
    return changed


def affected(repo: Repository, specs: list, changed: set[str]) -> list:
    """The subset of ``specs`` (validate.TargetSpec) whose inputs changed."""
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
