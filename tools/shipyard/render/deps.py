"""The local files a kustomization reads, found by walking its references.

Used for the content-hash render cache (a render is reused only while every
input is byte-identical) and for ``--changed-since`` (which targets does a
changed file reach). Remote bases count by their URL, which pins a tag.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from shipyard.errors import ShipyardError
from shipyard.render.kustomize import kustomization_file

REMOTE_PREFIXES = ("http://", "https://", "git@", "ssh://", "github.com/", "git::")


def read_documents(file: Path) -> list[Any]:
    """Every document of a YAML file through the bounded loader, or [] when
    it cannot be read: kustomize reports such files itself, with its own
    message. (libyaml's recursive composer, called directly, would crash
    the process on a deeply nested file instead.)

    Parsed once per content: a run walks the same kustomizations for
    every target that includes them and for every cache key (a
    --changed-since run parsed 660 files for 12 targets, a fifth of its
    time). The file is read each time (the text is the key, so an edit is
    never missed); the documents returned are shared, and read only."""
    from shipyard.load import load_documents, read_text  # late: the loader is heavy to import

    try:
        text = read_text(file, str(file))
    except ShipyardError:
        return []
    key = (str(file), text)
    known = _PARSED.get(key)
    if known is not None:
        return known
    try:
        docs = [body for body, _line in load_documents(text, str(file))]
    except ShipyardError:
        docs = []
    with _PARSED_LOCK:
        if len(_PARSED) >= _PARSED_KEEP:
            _PARSED.clear()
        _PARSED[key] = docs
    return docs


_PARSED: dict[tuple[str, str], list[Any]] = {}
_PARSED_KEEP = 4096
_PARSED_LOCK = threading.Lock()


def read_kustomization(kfile: Path) -> dict[str, Any]:
    """A kustomization file as a mapping ({} when it is not one)."""
    docs = read_documents(kfile)
    return docs[0] if docs and isinstance(docs[0], dict) else {}


def resolve(path: Path) -> Path | None:
    """``path`` with symlinks resolved, or None when it cannot be: a symlink
    loop, a NUL byte in a reference."""
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError):
        return None


def is_remote(ref: str) -> bool:
    return ref.startswith(REMOTE_PREFIXES) or "?ref=" in ref


def _items(value: Any) -> list[Any]:
    """A kustomization field's entries; anything but a list (a typo such as
    ``resources: a.yaml``) has none here, and kustomize reports it."""
    return value if isinstance(value, list) else []


def _file_refs(data: dict[str, Any]) -> Iterable[str]:
    """Every path a kustomization names. Entries of several lines are YAML
    written inline (a strategic-merge patch, a transformer's config), not
    paths: taken as one, a long one failed with "File name too long"."""
    for key in ("resources", "bases", "components", "crds", "configurations", "transformers", "generators",
                "validators", "patchesStrategicMerge"):
        for item in _items(data.get(key)):
            if isinstance(item, str) and "\n" not in item.strip():
                yield item
    for key in ("patches", "patchesJson6902", "replacements"):
        for item in _items(data.get(key)):
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield item["path"]
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in _items(data.get(key)):
            if not isinstance(gen, dict):
                continue
            single = [gen["env"]] if isinstance(gen.get("env"), str) else []
            for entry in _items(gen.get("files")) + _items(gen.get("envs")) + single:
                if isinstance(entry, str):
                    yield entry.split("=", 1)[-1]
    for chart in _items(data.get("helmCharts")):
        if isinstance(chart, dict) and isinstance(chart.get("valuesFile"), str):
            yield chart["valuesFile"]


def local_inputs(path: Path, *, _seen: set[Path] | None = None) -> tuple[set[Path], set[str]]:
    """(local files, remote URLs) that ``kustomize build path`` reads."""
    seen = _seen if _seen is not None else set()
    files: set[Path] = set()
    remotes: set[str] = set()
    resolved = resolve(path)
    if resolved is None or resolved in seen:
        return files, remotes
    path = resolved
    if path in seen:
        return files, remotes
    seen.add(path)
    kfile = kustomization_file(path)
    if kfile is None:
        return files, remotes
    files.add(kfile)
    data = read_kustomization(kfile)
    for ref in _file_refs(data):
        if is_remote(ref):
            remotes.add(ref)
            continue
        target = resolve(path / ref)
        if target is None:
            continue
        if target.is_dir():
            sub_files, sub_remotes = local_inputs(target, _seen=seen)
            files |= sub_files
            remotes |= sub_remotes
        elif target.is_file():
            files.add(target)
    return files, remotes


def _gitops_paths(file: Path, repo_url_ok: Callable[[str], bool]) -> Iterable[tuple[str, str]]:
    """("path", rel) for Flux Kustomization / Argo CD Application paths and
    ("file", rel) for Argo CD $values files declared in ``file``."""
    for doc in read_documents(file):
        if not isinstance(doc, dict):
            continue
        kind = doc.get("kind")
        spec_value = doc.get("spec")
        spec: dict[str, Any] = spec_value if isinstance(spec_value, dict) else {}
        if kind == "Kustomization" and str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io"):
            if isinstance(spec.get("path"), str):
                yield "path", spec["path"]
        elif kind == "Application" and str(doc.get("apiVersion", "")).startswith("argoproj.io"):
            sources = spec.get("sources") if isinstance(spec.get("sources"), list) else [spec.get("source")]
            for source in _items(sources):
                if not isinstance(source, dict):
                    continue
                if isinstance(source.get("path"), str) and repo_url_ok(str(source.get("repoURL", ""))):
                    yield "path", source["path"]
                helm_value = source.get("helm")
                helm: dict[str, Any] = helm_value if isinstance(helm_value, dict) else {}
                for value_file in _items(helm.get("valueFiles")):
                    if isinstance(value_file, str) and value_file.startswith("$"):
                        yield "file", value_file.split("/", 1)[1] if "/" in value_file else ""


def target_inputs(repo_root: Path, rel: str, repo_url_ok: Callable[[str], bool]) -> set[str]:
    """Repository files (relative paths) that rendering target ``rel`` reads,
    found statically: kustomization references, then the paths named by the
    GitOps objects among those files, transitively. No rendering needed, so
    ``--changed-since`` can decide what to render before rendering anything."""
    root = repo_root.resolve()
    files: set[Path] = set()
    pending = [p for p in [resolve(root / rel)] if p is not None]
    visited: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in visited or not path.is_relative_to(root):
            continue
        visited.add(path)
        if path.is_file():
            new_files = {path}
        elif kustomization_file(path):
            new_files, _ = local_inputs(path)
        elif path.is_dir():
            new_files = {p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json")}
        else:
            continue
        for file in new_files - files:
            if file.suffix in (".yaml", ".yml"):
                for what, ref in _gitops_paths(file, repo_url_ok):
                    target = resolve(root / ref.lstrip("./") if ref.startswith("./") else root / ref)
                    if target is None:
                        continue
                    if what == "path":
                        pending.append(target)
                    elif target.is_file():
                        files.add(target)
        files |= new_files
    return {f.relative_to(root).as_posix() for f in files if f.is_relative_to(root)}


def escapes(repo_root: Path, rel: str) -> list[tuple[str, str, str]]:
    """(kustomization file, reference, where it resolves) for every local
    reference of the kustomizations under ``rel`` that leaves the repository,
    directly or through a symlink. A render must not depend on files a
    reviewer cannot see in the pull request."""
    root = repo_root.resolve()
    out: list[tuple[str, str, str]] = []
    pending = [repo_root / rel]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        real = resolve(path)
        if real is None or real in seen:
            continue
        seen.add(real)
        kfile = kustomization_file(real) if real.is_dir() else None
        if kfile is None:
            continue
        data = read_kustomization(kfile)
        for ref in _file_refs(data):
            if is_remote(ref):
                continue
            target = resolve(real / ref)
            if target is None:
                continue
            if not target.is_relative_to(root):
                where = kfile.relative_to(root).as_posix() if kfile.is_relative_to(root) else str(kfile)
                out.append((where, ref, str(target)))
                continue
            if target.is_dir():
                pending.append(target)
    return out
