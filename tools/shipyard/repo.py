"""The repository as data: its settings (shipyard.yaml), environments and
their promotion order, clusters and models.

Everything is discovered from the folder layout described in docs/layout.md,
so adding a cluster or a model is adding a folder, not editing the toolkit.
shipyard.yaml is read here once, into typed `Settings` that keep the line of
every key, so any command can point at the line a setting is written on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.objects import JsonPath

CONFIG_FILE = "shipyard.yaml"
DEFAULT_KUBE_VERSION = "1.33.0"
ENGINES = ("argocd", "flux")
DEFAULT_ORDER = ("dev", "staging", "production")
DEFAULT_MONITORED = ("staging", "production")
DEFAULT_BRANCH = "main"


def _no_line(_path: JsonPath) -> int | None:
    return None


MODEL_STORE_KEYS = ("uri", "endpoint", "region", "secretName")


@dataclass(frozen=True)
class ModelStoreSettings:
    """modelStore in shipyard.yaml, as written (never a credential: those
    come from the environment, see docs/registry.md)."""

    uri: str  # s3://bucket[/prefix], gs://bucket[/prefix], or a local folder
    endpoint: str | None  # an S3-compatible server's URL; None: AWS
    region: str | None
    secret_name: str | None  # the Secret the cluster's storage initializer reads (envSecretRefName)
    file: str
    line: int | None


MLFLOW_KEYS = ("trackingUri", "artifactsDestination", "aliases")
PROMETHEUS_KEYS = ("url", "environments")


@dataclass(frozen=True)
class MlflowSettings:
    """mlflow in shipyard.yaml, as written (never a token: MLFLOW_TRACKING_TOKEN
    and the like come from the environment, see docs/registry.md)."""

    tracking_uri: str | None  # the tracking server's URL (MLFLOW_TRACKING_URI, --mlflow-uri override it)
    artifacts_destination: str | None  # the server's --artifacts-destination: what mlflow-artifacts:/ URIs resolve to
    aliases: dict[str, str]  # environment -> alias name; environments left out keep their own name
    file: str
    line: int | None
    aliases_line: int | None = None


@dataclass(frozen=True)
class Settings:
    """shipyard.yaml, typed: each setting has one reader, here, and
    ``line`` says where a key is written (for errors that point at it)."""

    data: dict[str, Any] = field(default_factory=dict)
    line_of: Callable[[JsonPath], int | None] = field(default=_no_line, compare=False)
    file: str = CONFIG_FILE

    def line(self, *path: str | int) -> int | None:
        return self.line_of(tuple(path))

    def _section(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        return value if isinstance(value, dict) else {}

    def _names(self, section: str, key: str, default: tuple[str, ...]) -> list[str]:
        value = self._section(section).get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        return list(default)

    @property
    def repository_url(self) -> str:
        """The git URL Argo CD and Flux sync from (repository.url)."""
        return str(self._section("repository").get("url", ""))

    @property
    def target_branch(self) -> str:
        """The branch pull requests go to (repository.branch, default main)."""
        return str(self._section("repository").get("branch") or DEFAULT_BRANCH)

    @property
    def mirror(self) -> str | None:
        value = self.data.get("mirror")
        return str(value) if value else None

    def _mapping_setting(self, name: str, keys: tuple[str, ...], example: str,
                         keys_hint: str) -> tuple[dict[Any, Any], int | None]:
        """A top-level section of settings (modelStore, prometheus, mlflow):
        a mapping with only ``keys``, and the line it starts on."""
        value = self.data[name]
        line = self.line(name)
        if not isinstance(value, dict):
            raise ShipyardError(f"{name} must be a mapping, not {value!r}", file=self.file, line=line, hint=example,
                                check=ids.USAGE)
        unknown = sorted(str(k) for k in value if k not in keys)
        if unknown:
            raise ShipyardError(f"{name} has no setting {unknown[0]!r}", file=self.file,
                                line=self.line(name, unknown[0]) or line, hint=keys_hint, check=ids.USAGE)
        return value, line

    def _text_setting(self, name: str, section: dict[Any, Any], key: str, line: int | None,
                      example: str) -> str | None:
        """``<name>.<key>``: a non-empty string, stripped, or None when absent."""
        item = section.get(key)
        if item is not None and (not isinstance(item, str) or not item.strip()):
            raise ShipyardError(f"{name}.{key} must be a non-empty string, not {item!r}", file=self.file,
                                line=self.line(name, key) or line, hint=example, check=ids.USAGE)
        return item.strip() if isinstance(item, str) else None

    @property
    def model_store(self) -> ModelStoreSettings | None:
        """modelStore: where `shipyard publish` puts artifacts (None when
        the section is absent). Only its shape is judged here; the URI
        itself, and what the environment overrides, is shipyard.serving.store's."""
        if "modelStore" not in self.data:
            return None
        example = "write it like modelStore: {uri: s3://bucket/prefix, endpoint: https://s3.example.com}"
        value, line = self._mapping_setting("modelStore", MODEL_STORE_KEYS, example,
                                            f"modelStore settings are: {', '.join(MODEL_STORE_KEYS)}")
        fields = {key: self._text_setting("modelStore", value, key, line, example) for key in MODEL_STORE_KEYS}
        if fields["uri"] is None:
            raise ShipyardError("modelStore has no uri", file=self.file, line=line, hint=example, check=ids.USAGE)
        return ModelStoreSettings(uri=fields["uri"], endpoint=fields["endpoint"], region=fields["region"],
                                  secret_name=fields["secretName"], file=self.file,
                                  line=self.line("modelStore", "uri") or line)

    @property
    def prometheus_url(self) -> str | None:
        """prometheus.url: the Prometheus of every environment that names no
        other (None when there is none)."""
        return self.prometheus_url_for(None)

    def prometheus_url_for(self, environment: str | None) -> str | None:
        """The Prometheus `shipyard rollout --env ENV --analyze` asks about
        ``environment``: prometheus.environments.<env>, else prometheus.url;
        None when shipyard.yaml names neither (--prometheus-url and
        SHIPYARD_PROMETHEUS_URL take precedence over both,
        shipyard.monitoring.prometheus.prometheus_url). Each environment
        usually has a Prometheus of its own, in its own cluster; one URL for
        all is the form for a single Prometheus that sees every cluster."""
        if "prometheus" not in self.data:
            return None
        example = ("write it like prometheus: {url: http://prometheus.monitoring:9090}, or per environment "
                   "prometheus: {environments: {staging: https://prometheus.staging.example.com, ...}}")
        value, line = self._mapping_setting("prometheus", PROMETHEUS_KEYS, example,
                                            f"prometheus settings are: {', '.join(PROMETHEUS_KEYS)}")
        default = self._prometheus_url(value.get("url"), ("prometheus", "url"), line, example)
        per_env = value.get("environments")
        if per_env is None:
            if default is None:
                raise ShipyardError("prometheus names no url and no environments", file=self.file, line=line,
                                    hint=example, check=ids.USAGE)
            return default
        env_line = self.line("prometheus", "environments") or line
        if not isinstance(per_env, dict) or not per_env:
            raise ShipyardError(f"prometheus.environments must map environments to URLs, not {per_env!r}",
                                file=self.file, line=env_line, hint=example, check=ids.USAGE)
        urls = {str(env): self._prometheus_url(url, ("prometheus", "environments", str(env)), env_line, example)
                for env, url in per_env.items()}
        if environment is not None and environment in urls:
            return urls[environment]
        return default

    def prometheus_environments(self) -> dict[str, int | None]:
        """The environments prometheus.environments names, with their lines."""
        section = self.data.get("prometheus")
        per_env = section.get("environments") if isinstance(section, dict) else None
        if not isinstance(per_env, dict):
            return {}
        return {str(env): self.line("prometheus", "environments", str(env)) for env in per_env}

    def _prometheus_url(self, url: Any, path: tuple[str, ...], line: int | None, example: str) -> str | None:
        if url is None:
            return None
        if not isinstance(url, str) or not url.strip().startswith(("http://", "https://")):
            raise ShipyardError(f"{'.'.join(path)} must be an http:// or https:// URL, not {url!r}", file=self.file,
                                line=self.line(*path) or line, hint=example, check=ids.USAGE)
        return url.strip()

    @property
    def mlflow(self) -> "MlflowSettings | None":
        """mlflow: the MLflow tracking server `register --from-mlflow` and
        `shipyard mlflow aliases` talk to (None when the section is absent).
        Only the shape is judged here; shipyard.mlflow reads the rest."""
        if "mlflow" not in self.data:
            return None
        example = ("write it like mlflow: {trackingUri: https://mlflow.example.com, artifactsDestination: "
                   "s3://bucket/mlflow, aliases: {dev: dev, staging: staging, production: production}}")
        value, line = self._mapping_setting("mlflow", MLFLOW_KEYS, example,
                                            f"mlflow settings are: {', '.join(MLFLOW_KEYS)}")
        texts = {key: self._text_setting("mlflow", value, key, line, example)
                 for key in ("trackingUri", "artifactsDestination")}
        aliases = value.get("aliases")
        if aliases is not None and (not isinstance(aliases, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in aliases.items())):
            raise ShipyardError(f"mlflow.aliases must map environments to alias names, not {aliases!r}",
                                file=self.file, line=self.line("mlflow", "aliases") or line,
                                hint="for example: aliases: {dev: dev, staging: staging, production: champion}",
                                check=ids.USAGE)
        return MlflowSettings(tracking_uri=texts["trackingUri"], artifacts_destination=texts["artifactsDestination"],
                              aliases={str(k): str(v).strip() for k, v in (aliases or {}).items()}, file=self.file,
                              line=line, aliases_line=self.line("mlflow", "aliases") or line)

    @property
    def promotion_order(self) -> list[str]:
        """promotion.order (default dev, staging, production)."""
        return self._names("promotion", "order", DEFAULT_ORDER)

    @property
    def monitored(self) -> set[str]:
        """promotion.monitored: environments whose pins include the model's
        monitoring (default staging and production)."""
        return set(self._names("promotion", "monitored", DEFAULT_MONITORED))

    @property
    def default_kube_version(self) -> str:
        """defaults.kubernetesVersion as major.minor.0: the schemas for a
        target that belongs to no cluster."""
        value = self._section("defaults").get("kubernetesVersion", "1.33")
        line = self.line("defaults", "kubernetesVersion") if "kubernetesVersion" in self._section("defaults") else None
        if not isinstance(value, str):
            raise ShipyardError(
                f"defaults.kubernetesVersion must be a quoted string, not {value!r}", file=self.file, line=line,
                hint='quote it, like kubernetesVersion: "1.33" (unquoted, 1.30 reads as the number 1.3)',
            )
        return normalise_kube_version(value, self.file, line=line)


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
    # What the GPU operator labels and the node pool taints on GPU nodes
    # (spec.gpu.nodeSelector, spec.gpu.tolerations): a GPU model's pin gets
    # them generated from here, never copied by hand.
    gpu_node_selector: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    gpu_tolerations: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    gpu_line: int = 1  # the line of spec.gpu (or of spec) in cluster.yaml, for errors about these facts


_CLUSTERS: dict[tuple[str, bytes, tuple[bool, ...]], Cluster] = {}
"""Clusters read, by their file's path and bytes (and which engine folders exist)."""


@dataclass
class Repository:
    root: Path
    settings: Settings = field(default_factory=Settings)

    @property
    def config(self) -> dict[str, Any]:
        """shipyard.yaml as plain data (for readers of free-form sections: waivers)."""
        return self.settings.data

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
        settings = Settings()
        if config_path.is_file():
            data, line_of = _read_config(config_path, root)
            settings = Settings(data, line_of)
        return cls(root=root.resolve(), settings=settings)

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    @property
    def repository_url(self) -> str:
        return self.settings.repository_url

    @property
    def mirror(self) -> str | None:
        return self.settings.mirror

    def environments(self) -> list[str]:
        """The environments: folders overlays/<env>/ with a kustomization.yaml,
        in promotion order (shipyard.yaml promotion.order), then any others
        by name. An environment runs models when it also has
        overlays/<env>/models/kustomization.yaml (`model_environments`)."""
        base = self.root / "overlays"
        if not base.is_dir():
            return []
        found = sorted(p.name for p in base.iterdir() if (p / "kustomization.yaml").is_file())
        order = [e for e in self.settings.promotion_order if e in found]
        return order + [e for e in found if e not in order]

    def model_environments(self) -> list[str]:
        """The environments that run models, in promotion order: a version
        reaches one only after the one before it."""
        return [e for e in self.environments() if (self.root / "overlays" / e / "models" / "kustomization.yaml").is_file()]

    def require_environment(self, env: str) -> None:
        known = self.model_environments()
        if env not in known:
            raise ShipyardError(
                f"unknown environment {env!r}",
                hint=f"environments are: {', '.join(known) or 'none'} (folders overlays/<env>/models)",
                check=ids.USAGE,
            )

    def previous_environment(self, env: str) -> str | None:
        """The environment before ``env`` in promotion order (None for the first)."""
        order = self.model_environments()
        index = order.index(env)
        return order[index - 1] if index > 0 else None

    def overlay_path(self, env: str) -> Path:
        return self.root / "overlays" / env

    def clusters(self) -> list[Cluster]:
        base = self.root / "clusters"
        if not base.is_dir():
            return []
        return [self.cluster(p.name) for p in sorted(base.iterdir()) if (p / "cluster.yaml").is_file()]

    def cluster(self, name: str) -> Cluster:
        """The cluster ``name`` as clusters/<name>/cluster.yaml says, read
        once per content of that file (checks ask for it per target and per
        model: 200 models asked 1,800 times)."""
        path = self.root / "clusters" / name
        file = path / "cluster.yaml"
        if not file.is_file():
            known = ", ".join(c.name for c in self.clusters()) or "none"
            raise ShipyardError(f"unknown cluster {name!r}", hint=f"clusters are: {known}")
        try:
            key = (str(file), file.read_bytes(), tuple((path / e).is_dir() for e in ENGINES))
        except OSError:
            return self._read_cluster(name, path, file)
        known_cluster = _CLUSTERS.get(key)
        if known_cluster is None:
            known_cluster = self._read_cluster(name, path, file)
            if len(_CLUSTERS) >= 256:
                _CLUSTERS.clear()
            _CLUSTERS[key] = known_cluster
        return known_cluster

    def _read_cluster(self, name: str, path: Path, file: Path) -> Cluster:
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
        selector, tolerations = _gpu_scheduling(gpu or {}, rel, lambda *keys: line_of(base + ("gpu", *keys)))
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
            gpu_node_selector=selector,
            gpu_tolerations=tolerations,
            gpu_line=where("gpu") or 1,
        )

    def models(self) -> list[str]:
        base = self.root / "models"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "model.yaml").is_file())


def _gpu_scheduling(gpu: dict[str, Any], rel: str, line: Callable[..., int | None]
                    ) -> tuple[dict[str, str], tuple[dict[str, Any], ...]]:
    """spec.gpu.nodeSelector and spec.gpu.tolerations, checked for the shape
    a pod spec takes: they are written into GPU models' pins as they are, so a
    wrong shape here would become a manifest the API server rejects."""
    selector = gpu.get("nodeSelector") or {}
    if not isinstance(selector, dict):
        raise ShipyardError(f"gpu.nodeSelector must be a mapping of node labels, not {selector!r}", file=rel,
                            line=line("nodeSelector"), hint='write it like nodeSelector: {nvidia.com/gpu.present: "true"}')
    for key, value in selector.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ShipyardError(f"gpu.nodeSelector {key!r}: a node label and its value are strings, not {value!r}",
                                file=rel, line=line("nodeSelector", key) or line("nodeSelector"),
                                hint='quote the value, like nvidia.com/gpu.present: "true"')
    tolerations = gpu.get("tolerations") or []
    if not isinstance(tolerations, list) or not all(isinstance(t, dict) and t for t in tolerations):
        raise ShipyardError(f"gpu.tolerations must be a list of tolerations, not {tolerations!r}", file=rel,
                            line=line("tolerations"),
                            hint="write it like tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]")
    return dict(selector), tuple(dict(t) for t in tolerations)


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


def _read_config(path: Path, root: Path) -> tuple[dict[str, Any], Callable[[JsonPath], int | None]]:
    """A settings file through the strict loader: one mapping (duplicate
    keys, non-UTF-8 bytes and alias bombs are errors with file and line),
    and the line of any field in it."""
    from shipyard.load import load_config  # late: the loader is heavy to import

    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return load_config(path, rel)
