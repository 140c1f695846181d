"""The local files a kustomization reads, found by walking its references.

Used for the content-hash render cache (a render is reused only while every
input is byte-identical) and for ``--changed-since`` (which targets does a
changed file reach). Remote bases count by their URL, which pins a tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import yaml

from shipyard.render.kustomize import kustomization_file

REMOTE_PREFIXES = ("http://", "https://", "git@", "ssh://", "github.com/", "git::")


def is_remote(ref: str) -> bool:
    return ref.startswith(REMOTE_PREFIXES) or "?ref=" in ref


def _file_refs(data: dict[str, Any]) -> Iterable[str]:
    for key in ("resources", "bases", "components", "crds", "configurations", "transformers", "generators",
                "validators", "patchesStrategicMerge"):
        for item in data.get(key) or []:
            if isinstance(item, str):
                yield item
    for key in ("patches", "patchesJson6902"):
        for item in data.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield item["path"]
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in data.get(key) or []:
            if not isinstance(gen, dict):
                continue
            for entry in (gen.get("files") or []) + (gen.get("envs") or []) + ([gen["env"]] if gen.get("env") else []):
                if isinstance(entry, str):
                    yield entry.split("=", 1)[-1]
    for chart in data.get("helmCharts") or []:
        if isinstance(chart, dict) and isinstance(chart.get("valuesFile"), str):
            yield chart["valuesFile"]
    replacements = data.get("replacements") or []
    for item in replacements:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            yield item["path"]


def local_inputs(path: Path, *, _seen: set[Path] | None = None) -> tuple[set[Path], set[str]]:
    """(local files, remote URLs) that ``kustomize build path`` reads."""
    seen = _seen if _seen is not None else set()
    files: set[Path] = set()
    remotes: set[str] = set()
    path = path.resolve()
    if path in seen:
        return files, remotes
    seen.add(path)
    kfile = kustomization_file(path)
    if kfile is None:
        return files, remotes
    files.add(kfile)
    try:
        data = yaml.load(kfile.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return files, remotes
    if not isinstance(data, dict):
        return files, remotes
    for ref in _file_refs(data):
        if is_remote(ref):
            remotes.add(ref)
            continue
        target = (path / ref).resolve()
        if target.is_dir():
            sub_files, sub_remotes = local_inputs(target, _seen=seen)
            files |= sub_files
            remotes |= sub_remotes
        elif target.is_file():
            files.add(target)
    return files, remotes
