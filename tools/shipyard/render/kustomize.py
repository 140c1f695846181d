"""kustomize build with the real binary, keeping each object's source file.

kustomize output forgets where objects came from. Building through a small
wrapper kustomization with ``buildMetadata: [originAnnotations]`` makes
kustomize itself annotate every object with its origin (the file, or the
remote repository and ref, or the generator's kustomization); we read that
annotation, strip it, and point each object at its file and line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from shipyard.errors import RenderError
from shipyard.render.binaries import Binaries
from shipyard.render.mirror import Mirror
from shipyard.render.run import run_tool

ORIGIN = "config.kubernetes.io/origin"
GIT_ATTEMPTS = 3
GIT_TIMEOUT_TEXT = "timeout running"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomization_file(path: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = path / name
        if candidate.is_file():
            return candidate
    return None


def build(path: Path, binaries: Binaries, mirror: Mirror | None, *, label: str) -> tuple[str, Path]:
    """Rendered YAML of the kustomization at ``path``, every object carrying
    the origin annotation, and the folder origins are relative to.
    ``label`` names the path in errors."""
    if not path.is_dir():
        raise RenderError(f"{label}: no such folder", file=label, check="SY401")
    if kustomization_file(path) is None:
        raise RenderError(
            f"{label}: no kustomization.yaml in this folder",
            file=label,
            hint="point at a folder with a kustomization.yaml, or at a manifest file",
            check="SY401",
        )
    env = mirror.git_env() if mirror else {}
    with tempfile.TemporaryDirectory(prefix="shipyard-kustomize-") as tmp:
        wrapper = Path(tmp) / "wrap"
        wrapper.mkdir()
        rel = os.path.relpath(path.resolve(), wrapper)
        (wrapper / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\n"
            "kind: Kustomization\n"
            f"resources:\n- {rel}\n"
            "buildMetadata: [originAnnotations]\n",
            encoding="utf-8",
        )
        for attempt in range(1, GIT_ATTEMPTS + 1):
            try:
                output = run_tool(
                    [binaries.kubectl, "kustomize", str(wrapper)],
                    what=f"kustomize build {label}",
                    file=label,
                    env=env,
                    timeout=300,
                    hint=None if mirror else "remote bases need network access; air-gapped? set SHIPYARD_MIRROR",
                )
                break
            except RenderError as exc:
                # kustomize gives every remote-base `git fetch` a fixed 27 s;
                # on a loaded machine a fetch can miss it. Retry that only.
                if attempt == GIT_ATTEMPTS or GIT_TIMEOUT_TEXT not in exc.message:
                    raise
    return output, wrapper


def parse_origin(value: Any) -> dict[str, Any]:
    if not isinstance(value, str):
        return {}
    try:
        data = yaml.load(value, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def origin_source(origin: dict[str, Any], *, wrapper_dir: Path, repo_root: Path) -> tuple[str, bool]:
    """(where, is_local_file) for an origin annotation: a repository-relative
    path for local files; ``<repo>//<path>@<ref>`` for remote bases."""
    if origin.get("repo"):
        return f"{origin['repo']}//{origin.get('path', '')}@{origin.get('ref', '')}", False
    local = origin.get("path") or origin.get("configuredIn")
    if not local:
        return "", False
    absolute = (wrapper_dir / str(local)).resolve() if not os.path.isabs(str(local)) else Path(str(local))
    try:
        return absolute.relative_to(repo_root).as_posix(), True
    except ValueError:
        return str(absolute), absolute.is_file()
