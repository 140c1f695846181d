"""Rendered diff between two git refs, with a model-level summary.

Both sides are rendered exactly as validate renders them (git worktrees, the
shared content-hash cache, so unchanged inputs are not rendered twice), then
compared object by object. The summary answers what a reviewer of a
promotion asks first: which model, which version, how much traffic, how many
replicas, in which environment and cluster.

The base side is the merge base of the base ref and the head, as in
`git diff main...HEAD`: a branch that is behind main shows its own changes
only, not everything merged to main since it branched off (which would read
as this branch reverting them). Comparing with the base ref's tip is a choice
the caller makes explicitly (``against_tip``). The report names both commits.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator


from shipyard import git
from shipyard.render.target import RenderedTarget
from shipyard.errors import ShipyardError
from shipyard.models.spec import model_file, read_model_file
from shipyard.objects import K8sObject, ObjectRef
from shipyard.render.output import to_yaml
from shipyard.repo import Repository
from shipyard.targets import all_targets, open_renderer, render_all

SELDON = ("machinelearning.seldon.io", "SeldonDeployment")


@dataclass
class ObjectChange:
    target: str
    ref: ObjectRef
    change: str  # "added" | "removed" | "changed"
    diff: str


@dataclass
class ModelRow:
    model: str
    environment: str
    cluster: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class Comparison:
    """Which two commits a diff compares, and how they were chosen: what a
    reader needs to trust that the changes shown are the head's own."""

    base_ref: str
    base_tip: str  # the commit base_ref names
    base_commit: str  # what is rendered as the base: the merge base, or the tip
    merge_base: bool  # base_commit was chosen as the merge base of base_ref and the head
    head_ref: str | None  # None: the working tree
    head_commit: str  # head_ref's commit; for the working tree, HEAD
    behind: int = 0  # commits on base_ref since the merge base (not part of this diff)

    @property
    def head_label(self) -> str:
        return self.head_ref or "working tree"

    def base_line(self, code: Callable[[str], str] = str) -> str:
        tip = code(_short(self.base_tip))
        if not self.merge_base:
            return f"{code(_short(self.base_commit))}, the tip of {code(self.base_ref)}"
        where = (f"{code(self.base_ref)} has moved on by {self.behind} commit(s), to {tip}: they are not in this diff"
                 if self.base_commit != self.base_tip else f"the tip of {code(self.base_ref)}")
        return (f"{code(_short(self.base_commit))}, the merge base of {code(self.base_ref)} and "
                f"{code(self.head_ref or 'HEAD')} ({where})")

    def head_line(self, code: Callable[[str], str] = str) -> str:
        if self.head_ref is None:
            return f"the working tree (HEAD {code(_short(self.head_commit))} and uncommitted changes)"
        return f"{code(_short(self.head_commit))}, {code(self.head_ref)}"


def _short(sha: str) -> str:
    return sha[:12]


def _backticks(text: str) -> str:
    return f"`{text}`"


@dataclass
class DiffReport:
    base: str
    head: str
    changes: list[ObjectChange] = field(default_factory=list)
    models: list[ModelRow] = field(default_factory=list)
    comparison: Comparison | None = None


def _toplevel(root: Path) -> Path:
    """The top of the git work tree holding ``root``."""
    proc = git.run(root, "rev-parse", "--show-toplevel", missing_hint="install git: diff reads the history")
    if proc.returncode != 0:
        if "not a git repository" in proc.stderr:
            raise ShipyardError(f"{root} is not in a git repository, so diff has no history to compare with",
                                hint="run inside a clone of the repository", check=git.FAILED)
        raise ShipyardError(f"git rev-parse --show-toplevel: {proc.stderr.strip() or 'failed'}", check=git.FAILED)
    return Path(proc.stdout.strip())


@contextmanager
def checkout(repo: Repository, ref: str | None, option: str = "--base") -> Iterator[Repository]:
    """The repository at ``ref`` in a temporary git worktree (``None``: the
    working tree as it is, uncommitted edits included)."""
    if ref is None:
        yield repo
        return
    top = _toplevel(repo.root)
    git.verify_ref(top, ref, option)
    sub = repo.root.relative_to(top.resolve()) if repo.root != top.resolve() else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix="shipyard-diff-"))
    tree = tmp / "tree"
    try:
        git.git(top, "worktree", "add", "--detach", "--quiet", str(tree), ref, what=f"checking out {ref}",
                hint="check the ref exists (in CI fetch history: fetch-depth: 0)")
        yield Repository.load(tree / sub)
    finally:
        try:
            git.run(top, "worktree", "remove", "--force", str(tree), timeout=60)
        except ShipyardError:
            pass  # best effort: the folder goes below; `git worktree prune` forgets it
        shutil.rmtree(tmp, ignore_errors=True)


def render_repository(repo: Repository, cache_root: Path, jobs: int = 2) -> dict[str, RenderedTarget]:
    with open_renderer(repo, cache_root=cache_root) as renderer:
        targets = render_all(renderer, all_targets(repo), jobs)
    return {t.name: t for t in targets}


def _redacted(obj: K8sObject) -> K8sObject:
    """Secrets never reach a PR comment: values become short digests."""
    if obj.kind != "Secret":
        return obj
    body = dict(obj.body)
    for key in ("data", "stringData"):
        if isinstance(body.get(key), dict):
            import hashlib  # late: it loads OpenSSL (3.7 MB), which checking a file never needs
            body[key] = {k: f"<redacted sha256:{hashlib.sha256(str(v).encode()).hexdigest()[:12]}>" for k, v in body[key].items()}
    return K8sObject(body=body, source=obj.source, target=obj.target)


def object_changes(base: dict[str, RenderedTarget], head: dict[str, RenderedTarget]) -> list[ObjectChange]:
    changes: list[ObjectChange] = []
    for name in sorted(set(base) | set(head)):
        before = {o.ref: _redacted(o) for o in (base[name].objects if name in base else [])}
        after = {o.ref: _redacted(o) for o in (head[name].objects if name in head else [])}
        for ref in sorted(set(before) | set(after), key=str):
            old, new = before.get(ref), after.get(ref)
            if old is not None and new is not None and old.body == new.body:
                continue
            old_text = to_yaml([old]) if old else ""
            new_text = to_yaml([new]) if new else ""
            diff = "".join(difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True),
                                                fromfile=f"a/{ref}", tofile=f"b/{ref}", n=3))
            change = "added" if old is None else "removed" if new is None else "changed"
            changes.append(ObjectChange(name, ref, change, diff))
    return changes


def _versions_by_uri(repo: Repository) -> dict[str, str]:
    out: dict[str, str] = {}
    for model in repo.models():
        try:
            data = read_model_file(model_file(repo, model), f"models/{model}/model.yaml").data
        except ShipyardError:
            continue
        spec = data.get("spec", data) if isinstance(data, dict) else {}
        for version in spec.get("versions") or []:
            if isinstance(version, dict) and version.get("modelUri"):
                out[str(version["modelUri"])] = str(version.get("version"))
    return out


def _describe_model(obj: K8sObject, versions: dict[str, str]) -> str:
    """`1.2.0 100% x2` or `1.1.0 80% x2 + 1.2.0 20% x1 (canary)`."""
    parts = []
    for predictor in (obj.body.get("spec") or {}).get("predictors") or []:
        if not isinstance(predictor, dict):
            continue
        uri = str(((predictor.get("graph") or {}).get("modelUri")) or "")
        version = versions.get(uri, uri or "?")
        traffic = predictor.get("traffic")
        shadow = " shadow" if predictor.get("shadow") else ""
        replicas = predictor.get("replicas", 1)
        label = f"{version} {traffic if traffic is not None else 100}% x{replicas}{shadow}"
        if predictor.get("name") not in (None, "default", "main"):
            label += f" ({predictor.get('name')})"
        parts.append(label)
    return " + ".join(parts) or "-"


def model_rows(base_repo: Repository, head_repo: Repository, base: dict[str, RenderedTarget],
               head: dict[str, RenderedTarget]) -> list[ModelRow]:
    def collect(repo: Repository, targets: dict[str, RenderedTarget]) -> dict[tuple[str, str, str], str]:
        versions = _versions_by_uri(repo)
        out: dict[tuple[str, str, str], str] = {}
        for target in targets.values():
            if target.kind != "entrypoint" or target.cluster is None:
                continue
            for obj in target.objects:
                if (obj.group, obj.kind) == SELDON:
                    key = (f"{obj.namespace}/{obj.name}", target.cluster.environment, target.cluster.name)
                    out.setdefault(key, _describe_model(obj, versions))
        return out

    before, after = collect(base_repo, base), collect(head_repo, head)
    rows = [ModelRow(k[0], k[1], k[2], before.get(k, "-"), after.get(k, "-")) for k in sorted(set(before) | set(after))]
    return rows


def compare(repo: Repository, base_ref: str, head_ref: str | None = None, *, against_tip: bool = False) -> Comparison:
    """Resolve the two sides of a diff to commits. The base is the merge
    base of ``base_ref`` and the head (HEAD for the working tree) unless
    ``against_tip``; histories with no common commit have no merge base,
    and the error says how to compare with the tip instead."""
    top = _toplevel(repo.root)
    git.verify_ref(top, base_ref, "--base")
    git.verify_ref(top, head_ref or "HEAD", "--head")
    base_tip = git.git(top, "rev-parse", f"{base_ref}^{{commit}}", what=f"resolving {base_ref}").strip()
    head_commit = git.git(top, "rev-parse", f"{head_ref or 'HEAD'}^{{commit}}", what="resolving the head").strip()
    if against_tip:
        return Comparison(base_ref, base_tip, base_tip, False, head_ref, head_commit)
    base_commit = git.merge_base(top, base_tip, head_commit)
    if base_commit is None:
        raise ShipyardError(
            f"--base {base_ref!r} and {head_ref or 'HEAD'} have no common history, so there is no merge base to compare with",
            hint="fetch the full history (in CI: actions/checkout with fetch-depth: 0), or pass --base-tip to compare "
                 "with the tip of the base as it is",
            check=git.FAILED)
    behind = int(git.git(top, "rev-list", "--count", f"{base_commit}..{base_tip}", what="counting commits").strip() or 0)
    return Comparison(base_ref, base_tip, base_commit, True, head_ref, head_commit, behind)


def diff(repo: Repository, base_ref: str, head_ref: str | None = None, jobs: int = 2, *,
         against_tip: bool = False) -> DiffReport:
    """Render both sides of ``compare`` and diff them."""
    comparison = compare(repo, base_ref, head_ref, against_tip=against_tip)
    cache_root = repo.root / ".shipyard-cache"
    with checkout(repo, comparison.base_commit) as base_repo:
        base = render_repository(base_repo, cache_root, jobs)
        with checkout(repo, comparison.head_commit if head_ref else None, "--head") as head_repo:
            head = render_repository(head_repo, cache_root, jobs)
            rows = model_rows(base_repo, head_repo, base, head)
    return DiffReport(base_ref, comparison.head_label, object_changes(base, head), rows, comparison)


def format_text(report: DiffReport) -> str:
    lines = [f"diff {report.base} -> {report.head}"]
    if report.comparison is not None:
        lines.append(f"base: {report.comparison.base_line()}")
        lines.append(f"head: {report.comparison.head_line()}")
    changed_models = [r for r in report.models if r.changed]
    if changed_models:
        lines.append("models:")
        for row in changed_models:
            lines.append(f"  {row.model} in {row.environment} ({row.cluster}): {row.before} -> {row.after}")
    lines.append(f"{len(report.changes)} object change(s)")
    for change in report.changes:
        lines.append(f"--- {change.change}: {change.ref} in {change.target}")
        lines.append(change.diff.rstrip("\n"))
    return "\n".join(lines) + "\n"


def format_markdown(report: DiffReport, *, max_diff_lines: int = 400) -> str:
    """A pull request comment: the model summary first, object diffs folded."""
    out = [f"### Shipyard: rendered changes `{report.base}` → `{report.head}`", ""]
    if report.comparison is not None:
        out += [f"Base: {report.comparison.base_line(_backticks)}.  ",
                f"Head: {report.comparison.head_line(_backticks)}.", ""]
    changed_models = [r for r in report.models if r.changed]
    if changed_models:
        out += ["| model | environment | cluster | before | after |", "|---|---|---|---|---|"]
        out += [f"| {r.model} | {r.environment} | {r.cluster} | {r.before} | {r.after} |" for r in changed_models]
    else:
        out.append("No model version, traffic or replica changes.")
    out.append("")
    by_target: dict[str, list[ObjectChange]] = {}
    for change in report.changes:
        by_target.setdefault(change.target, []).append(change)
    if not by_target:
        out.append("No rendered object changes.")
    budget = max_diff_lines
    for target, changes in by_target.items():
        counts = {k: sum(1 for c in changes if c.change == k) for k in ("added", "changed", "removed")}
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        out.append(f"<details><summary><code>{target}</code>: {summary}</summary>")
        out.append("")
        out.append("```diff")
        for change in changes:
            lines = change.diff.splitlines()
            if budget <= 0:
                out.append(f"# {change.change}: {change.ref} (diff truncated)")
                continue
            out += lines[:budget]
            budget -= len(lines)
        out.append("```")
        out.append("</details>")
    return "\n".join(out) + "\n"
