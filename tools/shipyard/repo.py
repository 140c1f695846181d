"""The repository as data: clusters, overlays, models, pipelines.

Everything is discovered from the folder layout described in docs/layout.md,
so adding a cluster or a model is adding a folder, not editing the toolkit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shipyard.errors import ShipyardError

CONFIG_FILE = "shipyard.yaml"
DEFAULT_KUBE_VERSION = "1.33.0"
ENGINES = ("argocd", "flux")


@dataclass(frozen=True)
class Cluster:
    name: str
    path: Path
    environment: str
    kubernetes_version: str
    engines: tuple[str, ...]
    gpu_capacity: int = 0
    istio: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Repository:
    root: Path
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def find(cls, start: Path | None = None) -> "Repository":
        """The repository whose root (the folder holding shipyard.yaml)
        contains ``start``."""
        here = (start or Path.cwd()).resolve()
        for candidate in [here, *here.parents]:
            if (candidate / CONFIG_FILE).is_file():
                return cls.load(candidate)
        raise ShipyardError(
            f"no {CONFIG_FILE} found in {here} or any parent folder",
            hint="run shipyard inside a Shipyard repository, or pass --repo",
        )

    @classmethod
    def load(cls, root: Path) -> "Repository":
        config_path = root / CONFIG_FILE
        config: dict[str, Any] = {}
        if config_path.is_file():
            config = _read_yaml_mapping(config_path, root)
        return cls(root=root.resolve(), config=config)

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    @property
    def repository_url(self) -> str:
        repo = self.config.get("repository") or {}
        return str(repo.get("url", "")) if isinstance(repo, dict) else ""

    @property
    def mirror(self) -> str | None:
        value = self.config.get("mirror")
        return str(value) if value else None

    def environments(self) -> list[str]:
        base = self.root / "overlays"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "kustomization.yaml").is_file())

    def overlay_path(self, env: str) -> Path:
        return self.root / "overlays" / env

    def clusters(self) -> list[Cluster]:
        base = self.root / "clusters"
        if not base.is_dir():
            return []
        return [self.cluster(p.name) for p in sorted(base.iterdir()) if (p / "cluster.yaml").is_file()]

    def cluster(self, name: str) -> Cluster:
        path = self.root / "clusters" / name
        file = path / "cluster.yaml"
        if not file.is_file():
            known = ", ".join(c.name for c in self.clusters()) or "none"
            raise ShipyardError(f"unknown cluster {name!r}", hint=f"clusters are: {known}")
        data = _read_yaml_mapping(file, self.root)
        spec = data.get("spec", data)
        rel = self.rel(file)
        env = spec.get("environment")
        if not isinstance(env, str) or not env:
            raise ShipyardError("cluster.yaml has no environment", file=rel, hint="add `environment: dev|staging|production`")
        version = str(spec.get("kubernetesVersion", DEFAULT_KUBE_VERSION))
        engines = tuple(spec.get("engines") or [e for e in ENGINES if (path / e).is_dir()])
        gpu = spec.get("gpu") or {}
        return Cluster(
            name=name,
            path=path,
            environment=env,
            kubernetes_version=normalise_kube_version(version, rel),
            engines=engines,
            gpu_capacity=int(gpu.get("capacity", 0) or 0) if isinstance(gpu, dict) else 0,
            istio=bool(spec.get("istio", False)),
            raw=data,
        )

    def models(self) -> list[str]:
        base = self.root / "models"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "model.yaml").is_file())


def normalise_kube_version(version: str, file: str | None = None) -> str:
    """'1.33' or 'v1.33.2' -> '1.33.0' style major.minor.0 used by the schema sets."""
    text = version.strip().lstrip("v")
    parts = text.split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise ShipyardError(f"not a Kubernetes version: {version!r}", file=file, hint="write it like 1.33")
    return f"{int(parts[0])}.{int(parts[1])}.0"


def _read_yaml_mapping(path: Path, root: Path) -> dict[str, Any]:
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ShipyardError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=rel, line=(mark.line + 1) if mark else None) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShipyardError(f"cannot read file: {exc}", file=rel) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ShipyardError("expected a mapping at the top level", file=rel, line=1)
    return data
