"""The repository as data: clusters, overlays, models, pipelines.

Everything is discovered from the folder layout described in docs/layout.md,
so adding a cluster or a model is adding a folder, not editing the toolkit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

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
        try:
            here = (start or Path.cwd()).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop, a deleted working folder
            raise ShipyardError(f"cannot find the repository from {start or 'the current folder'}: {exc}",
                                hint="run shipyard inside a Shipyard repository, or pass --repo") from None
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
        rel = self.rel(file)
        data, line_of = _read_config(file, self.root)
        base: tuple[str, ...] = ("spec",) if "spec" in data else ()
        spec = data.get("spec", data)
        if not isinstance(spec, dict):
            raise ShipyardError("spec must be a mapping of the cluster's facts", file=rel, line=line_of(("spec",)),
                                hint="write `spec:` with environment, kubernetesVersion and engines under it")

        def where(key: str) -> int | None:
            return line_of(base + (key,)) if key in spec else line_of(base)

        env = spec.get("environment")
        if not isinstance(env, str) or not env:
            raise ShipyardError("cluster.yaml has no environment" if env is None else
                                f"environment must be a folder name in overlays/, not {env!r}",
                                file=rel, line=where("environment"), hint="add `environment: dev|staging|production`")
        version = spec.get("kubernetesVersion", DEFAULT_KUBE_VERSION)
        if not isinstance(version, str):
            raise ShipyardError(
                f"kubernetesVersion must be a quoted string, not the {_yaml_type(version)} {version!r}",
                file=rel, line=where("kubernetesVersion"),
                hint='quote it, like kubernetesVersion: "1.33" (unquoted, 1.30 reads as the number 1.3)',
            )
        engines = spec.get("engines")
        if engines is None:
            engines = [e for e in ENGINES if (path / e).is_dir()]
        if not isinstance(engines, list) or not all(isinstance(e, str) and e in ENGINES for e in engines):
            raise ShipyardError(f"engines must be a list of {' and '.join(ENGINES)}, not {engines!r}",
                                file=rel, line=where("engines"), hint="write it like engines: [argocd, flux]")
        gpu = spec.get("gpu")
        if gpu is not None and not isinstance(gpu, dict):
            raise ShipyardError(f"gpu must be a mapping, not {gpu!r}", file=rel, line=where("gpu"),
                                hint="write it like gpu: {capacity: 4}")
        capacity = (gpu or {}).get("capacity") or 0
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ShipyardError(f"gpu.capacity must be a whole number of GPUs, not {capacity!r}", file=rel,
                                line=line_of(base + ("gpu", "capacity")),
                                hint="write it like gpu: {capacity: 4} (0, or leave it out, when the cluster has none)")
        istio = spec.get("istio", False)
        if not isinstance(istio, bool):
            raise ShipyardError(f"istio must be true or false, not {istio!r}", file=rel, line=where("istio"),
                                hint="write istio: true when the cluster runs Istio")
        return Cluster(
            name=name,
            path=path,
            environment=env,
            kubernetes_version=normalise_kube_version(version, rel, line=where("kubernetesVersion")),
            engines=tuple(engines),
            gpu_capacity=capacity,
            istio=istio,
            raw=data,
        )

    def models(self) -> list[str]:
        base = self.root / "models"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "model.yaml").is_file())


_KUBE_VERSION = re.compile(r"v?(\d{1,4})\.(\d{1,4})(?:\.\d{1,6})?(?:[-+][0-9A-Za-z.+-]*)?\Z")


def normalise_kube_version(version: str, file: str | None = None, *, line: int | None = None) -> str:
    """'1.33' or 'v1.33.2' -> '1.33.0' style major.minor.0 used by the schema sets.

    Strict on purpose: '1.33.x', 'latest' or '2.0' are typos, and a version
    misread here picks the wrong schemas and API removals for every check."""
    text = version.strip()
    match = _KUBE_VERSION.match(text)
    if match is None or int(match.group(1)) != 1:
        raise ShipyardError(f"not a Kubernetes version: {version!r}", file=file, line=line,
                            hint='write it like "1.33" (or v1.33.2)')
    return f"1.{int(match.group(2))}.0"


def _yaml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return "null" if value is None else type(value).__name__


def _read_config(path: Path, root: Path) -> tuple[dict[str, Any], Callable[[tuple], int | None]]:
    """A settings file through the strict loader: one mapping (duplicate
    keys, non-UTF-8 bytes and alias bombs are errors with file and line),
    and the line of any field in it."""
    from shipyard.load import load_config  # late: the loader is heavy to import

    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return load_config(path, rel)


def _read_yaml_mapping(path: Path, root: Path) -> dict[str, Any]:
    return _read_config(path, root)[0]
