"""Render repository paths the way Argo CD and Flux would.

A cluster entry point renders to GitOps objects (Argo CD Applications, Flux
Kustomizations and HelmReleases); each is expanded in turn, with the real
kustomize and helm, until only the objects the cluster would finally hold
remain. This is what validate checks: what the cluster receives, not what
the files look like.
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import RenderError, ShipyardError
from shipyard.findings import Finding
from shipyard.objects import JsonPath, K8sObject
from shipyard.render import helm as helm_mod
from shipyard.render import kustomize, preflight
from shipyard.render.binaries import Binaries, find_binaries
from shipyard.render.cache import RenderCache
from shipyard.render.deps import local_inputs, read_kustomization
from shipyard.render.helm import ChartRef, Helm
from shipyard.render.mirror import Mirror
from shipyard.render.scope import cluster_scoped_kinds, set_default_namespace
from shipyard.render.sources import SourceIndex, make_object
from shipyard.repo import Repository
from shipyard.shapes import as_dict as _map
from shipyard.shapes import as_list as _list

FLUX_KUSTOMIZATION = ("kustomize.toolkit.fluxcd.io", "Kustomization")
FLUX_HELMRELEASE = ("helm.toolkit.fluxcd.io", "HelmRelease")
FLUX_GITREPOSITORY = ("source.toolkit.fluxcd.io", "GitRepository")
FLUX_HELMREPOSITORY = ("source.toolkit.fluxcd.io", "HelmRepository")
ARGO_APPLICATION = ("argoproj.io", "Application")

# (body, source path, source line, is a local repository file)
Record = tuple[dict[str, Any], str, int, bool]


def _values_layer(text: str, where: str) -> Any:
    """Helm values held as YAML text (a ConfigMap key, Argo CD helm.values),
    through the bounded loader; ShipyardError when they are not valid."""
    from shipyard.load import load_documents

    docs = load_documents(text, where)
    return docs[0][0] if docs else {}


def _resolve(root: Path, rel: Path) -> Path | None:
    """``root / rel`` resolved, or None when it cannot be (a NUL byte in the
    text, a symlink loop)."""
    try:
        return (root / rel).resolve()
    except (OSError, ValueError, RuntimeError):
        return None


MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def folder_inputs(folder: Path) -> list[tuple[str, Path]]:
    """What a plain folder holds for a render, sorted by path: ("file", a
    manifest) and ("kustomization", a subfolder with a kustomization file,
    not descended into: its files are that build's inputs). Skipped: a
    kustomize Component (it cannot be built alone, kustomize refuses; it is
    checked in the kustomizations that include it), a Helm chart (a folder
    with Chart.yaml: its templates are not YAML until helm renders them,
    where a HelmRelease or an Application names the chart), and hidden
    files and folders (.git, .venv, a cache, a .github of workflows).
    Symlinked folders are not followed (a link back up would never end)."""
    found: list[tuple[str, Path]] = []
    for current, folders, files in os.walk(folder):
        here = Path(current)
        kept = []
        for name in sorted(folders):
            kfile = kustomize.kustomization_file(here / name)
            if name.startswith(".") or (here / name / "Chart.yaml").is_file() or (
                    kfile and read_kustomization(kfile).get("kind") == "Component"):
                continue
            if kfile:
                found.append(("kustomization", here / name))
            else:
                kept.append(name)
        folders[:] = kept
        found += [("file", here / name) for name in files
                  if not name.startswith(".") and name.endswith(MANIFEST_SUFFIXES) and (here / name).is_file()]
    return sorted(found, key=lambda item: item[1])


def same_repo(url: str, other: str) -> bool:
    def norm(u: str) -> str:
        u = u.strip().rstrip("/")
        return u[:-4] if u.endswith(".git") else u

    return bool(url) and norm(url) == norm(other)


@dataclass
class Expansion:
    """The result of rendering one target: every object, plus findings about
    the GitOps wiring itself (a path that does not exist, a missing source)."""

    objects: list[K8sObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    charts: list[ChartRef] = field(default_factory=list)


class Renderer:
    def __init__(
        self,
        repo: Repository,
        *,
        mirror: Mirror | None = None,
        binaries: Binaries | None = None,
        cache: RenderCache | None = None,
    ) -> None:
        self.repo = repo
        self.binaries = binaries or find_binaries()
        self.mirror = mirror
        self.cache = cache or RenderCache(repo.root / ".shipyard-cache")
        self.helm = Helm(self.binaries, self.cache.root, mirror)
        self.index = SourceIndex(repo.root)
        self._memo: dict[str, list[Record]] = {}
        self._memo_lock = threading.Lock()
        self._path_locks: dict[str, threading.Lock] = {}

    @property
    def fingerprint(self) -> str:
        return self.binaries.fingerprint + ";" + (self.mirror.fingerprint if self.mirror else "upstream")

    # -- primitives -----------------------------------------------------

    def _lock_for(self, key: str) -> threading.Lock:
        with self._memo_lock:
            return self._path_locks.setdefault(key, threading.Lock())

    def kustomize_records(self, rel_path: str) -> list[Record]:
        """Objects of ``kustomize build <rel_path>``, cached by the content of
        every file it reads."""
        path = (self.repo.root / rel_path).resolve()
        with self._lock_for("k:" + rel_path):
            if rel_path in self._memo:
                return self._memo[rel_path]
            files, remotes = local_inputs(path)
            key = RenderCache.key("kustomize", rel_path, RenderCache.files_digest(files, self.repo.root), sorted(remotes), self.fingerprint)
            records = self.cache.get(key)
            if records is None:
                preflight.check_tree(path, self.repo.root, label=rel_path)
                try:
                    text, wrapper = kustomize.build(path, self.binaries, self.mirror, label=rel_path)
                except RenderError as exc:
                    raise preflight.explain(exc, path, self.repo.root, label=rel_path, mirror=self.mirror is not None) from None
                records = self._records_from_kustomize(text, wrapper)
                self.cache.put(key, records)
            self._memo[rel_path] = records
            return records

    def kustomize_objects(self, rel_path: str, target: str, result: Expansion) -> list[K8sObject]:
        """The objects of ``kustomize build <rel_path>`` for ``target``; the
        duplicate keys of its kustomization files and patches, which kustomize
        drops without a word, go to ``result`` as findings first (on a cached
        render too). When kustomize then fails, its error's hint names the
        first of them: a value it dropped is a likely cause."""
        duplicates = preflight.duplicate_keys(self.repo.root / rel_path, self.repo.root, target=target)
        result.findings += duplicates
        try:
            records = self.kustomize_records(rel_path)
        except ShipyardError as exc:
            if duplicates:
                note = f"{duplicates[0].location} may be why: {duplicates[0].message}"
                exc.hint = f"{exc.hint}; {note}" if exc.hint else note
            raise
        return self.to_objects(records, target)

    def kustomize_bodies(self, rel_path: str) -> list[dict[str, Any]]:
        """The plain objects of ``kustomize build <rel_path>`` (cached like
        every render), as copies the caller may change: what the lifecycle
        commands and `status` read of a pin or an environment's models."""
        return [copy.deepcopy(body) for body, _where, _line, _local in self.kustomize_records(rel_path)]

    def _records_from_kustomize(self, text: str, wrapper: Path) -> list[Record]:
        from shipyard.load import load_documents

        records: list[Record] = []
        for body, _line in load_documents(text, "kustomize output"):
            if not isinstance(body, dict):
                continue
            meta_value = body.get("metadata")
            meta: dict[str, Any] = meta_value if isinstance(meta_value, dict) else {}
            annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else None
            origin = kustomize.parse_origin(annotations.pop(kustomize.ORIGIN, None)) if annotations else {}
            if annotations is not None and not annotations:
                meta.pop("annotations", None)
            where, local = kustomize.origin_source(origin, wrapper_dir=wrapper, repo_root=self.repo.root)
            line = 0
            if local and where:
                line = self.index.locate(where, str(body.get("kind", "")), str(meta.get("name", "")))
            records.append((body, where or "kustomize output", line, local))
        return records

    def helm_records(
        self, chart: ChartRef, *, release: str, namespace: str, values: list[dict[str, Any]], kube_version: str,
        include_crds: bool,
    ) -> list[Record]:
        key = RenderCache.key("helm", chart.key, release, namespace, values, kube_version, include_crds, self.fingerprint)
        with self._lock_for("h:" + key):
            if key in self._memo:
                return self._memo[key]
            records = self.cache.get(key)
            if records is None:
                from shipyard.load import load_documents

                text = self.helm.template(
                    chart, release=release, namespace=namespace, values=values, kube_version=kube_version,
                    include_crds=include_crds,
                )
                records = []
                for template, doc in helm_mod.split_sources(text):
                    first, _, rest = template.partition("/")
                    where = f"chart:{chart.name}-{chart.version}/{rest or first}" if template else f"chart:{chart.name}-{chart.version}"
                    for body, _line in load_documents(doc, where):
                        if isinstance(body, dict):
                            records.append((body, where, 0, False))
                self.cache.put(key, records)
            self._memo[key] = records
            return records

    def to_objects(self, records: list[Record], target: str) -> list[K8sObject]:
        """Objects for ``target``. Bodies are shared with the render cache and
        other targets: nothing may change them in place (see scope.py)."""
        return [make_object(b, p, ln, target, self.index, local) for b, p, ln, local in records]

    def file_objects(self, rel: str, target: str) -> tuple[list[K8sObject], list[Finding]]:
        from shipyard.load import load_file

        loaded = load_file(self.repo.root / rel, rel, target=target)
        return loaded.objects, loaded.findings

    def directory_objects(self, rel: str, target: str, recurse: bool) -> tuple[list[K8sObject], list[Finding]]:
        folder = self.repo.root / rel
        pattern = "**/*" if recurse else "*"
        objects: list[K8sObject] = []
        findings: list[Finding] = []
        for file in sorted(folder.glob(pattern)):
            if file.is_file() and file.suffix in (".yaml", ".yml", ".json"):
                objs, found = self.file_objects(self.repo.rel(file), target)
                objects += objs
                findings += found
        return objects, findings

    def folder_objects(self, rel: str, target: str, result: Expansion) -> list[K8sObject]:
        """A folder named on the command line that has no kustomization file,
        read as what a GitOps engine would apply from it: every manifest in it
        and in its subfolders, and each subfolder with a kustomization file
        built by kustomize as a whole (its files are inputs of that build,
        not manifests), as Flux does for a path without a kustomization file.
        A credential two folders down is checked like one at the top."""
        objects: list[K8sObject] = []
        for kind, path in folder_inputs(self.repo.root / rel):
            if kind == "kustomization":
                objects += self.kustomize_objects(self.repo.rel(path), target, result)
            else:
                found, findings = self.file_objects(self.repo.rel(path), target)
                objects += found
                result.findings += findings
        return objects

    # -- targets ----------------------------------------------------------

    def render_path(self, rel: str, target: str, kube_version: str) -> Expansion:
        """A kustomization folder, a plain folder or a manifest file, with any
        GitOps objects in it expanded."""
        path = self.repo.root / rel
        result = Expansion()
        if path.is_file():
            objects, findings = self.file_objects(rel, target)
            result.findings += findings
        elif path.is_dir() and kustomize.kustomization_file(path):
            objects = self.kustomize_objects(rel, target, result)
        elif path.is_dir():
            objects = self.folder_objects(rel, target, result)
        else:
            raise ShipyardError(f"{rel}: no such file or folder", file=rel, check="SY900")
        self.expand(objects, target=target, kube_version=kube_version, result=result, seen={rel})
        return result

    # -- expansion --------------------------------------------------------

    def expand(self, seed: list[K8sObject], *, target: str, kube_version: str, result: Expansion, seen: set[str]) -> None:
        """Expand Argo CD Applications and Flux Kustomizations/HelmReleases in
        ``seed`` until only plain objects remain; everything lands in ``result``."""
        result.objects.extend(seed)
        queue = list(seed)
        releases: list[K8sObject] = []
        while queue:
            obj = queue.pop(0)
            gk = (obj.group, obj.kind)
            new: list[K8sObject] = []
            if gk == FLUX_KUSTOMIZATION:
                new = self._flux_kustomization(obj, result, target, seen)
            elif gk == ARGO_APPLICATION:
                new = self._argo_application(obj, result, target, kube_version, seen)
            elif gk == FLUX_HELMRELEASE:
                releases.append(obj)
            result.objects.extend(new)
            queue.extend(new)
            if not queue and releases:
                # HelmReleases last: their HelmRepository and values ConfigMaps
                # may come from any Kustomization of the entry point.
                for release in releases:
                    produced = self._flux_helmrelease(release, result, target, kube_version)
                    result.objects.extend(produced)
                    queue.extend(o for o in produced if (o.group, o.kind) in (FLUX_KUSTOMIZATION, ARGO_APPLICATION))
                releases = []

    def _repo_path(self, obj: K8sObject, raw: Any, field_path: JsonPath, result: Expansion, what: str) -> str | None:
        """Repository-relative folder named by a GitOps object, or a finding."""
        text = str(raw or ".").strip()
        rel = Path(text.lstrip("./") if text.startswith("./") else text)
        candidate = _resolve(self.repo.root, rel) if raw is None or isinstance(raw, str) else None
        if candidate is None:
            result.findings.append(Finding.on(obj, "SY401", f"{what} {text!r} is not a usable path", path=field_path,
                                              hint="write a folder of the repository, like ./overlays/dev"))
            return None
        if not candidate.is_relative_to(self.repo.root):
            result.findings.append(Finding.on(obj, "SY401", f"{what} {text!r} leaves the repository", path=field_path,
                                              hint="point it at a folder inside the repository"))
            return None
        if not candidate.exists():
            result.findings.append(Finding.on(obj, "SY401", f"{what} {text!r} does not exist in the repository",
                                              path=field_path, hint="fix the path, or add the folder it names"))
            return None
        return self.repo.rel(candidate) if candidate != self.repo.root else "."

    def _find(self, result: Expansion, group: str, kind: str, name: str, namespace: str) -> K8sObject | None:
        for obj in result.objects:
            if obj.group == group and obj.kind == kind and obj.name == name and (obj.namespace or namespace) == namespace:
                return obj
        return None

    def _flux_kustomization(self, obj: K8sObject, result: Expansion, target: str, seen: set[str]) -> list[K8sObject]:
        spec = _map(obj.body.get("spec"))
        ref = _map(spec.get("sourceRef"))
        if ref.get("kind", "GitRepository") != "GitRepository":
            return []
        source = self._find(result, *FLUX_GITREPOSITORY, str(ref.get("name", "")), str(ref.get("namespace") or obj.namespace))
        if source is None:
            result.findings.append(Finding.on(
                obj, "SY402", f"sourceRef GitRepository {ref.get('name')!r} is not defined in this entry point",
                path=("spec", "sourceRef"), hint="define the GitRepository next to the Kustomization"))
            return []
        url = str(_map(source.body.get("spec")).get("url", ""))
        if not same_repo(url, self.repo.repository_url):
            return []  # another repository: checked by the repository URL check
        rel = self._repo_path(obj, spec.get("path"), ("spec", "path"), result, "spec.path")
        if rel is None or rel in seen:
            return []
        seen.add(rel)
        sub_target = f"{target} > Kustomization {obj.namespace}/{obj.name}"
        path = self.repo.root / rel
        if kustomize.kustomization_file(path):
            objects = self.kustomize_objects(rel, sub_target, result)
        else:
            objects, findings = self.directory_objects(rel, sub_target, recurse=True)
            result.findings += findings
        target_ns = spec.get("targetNamespace")
        if isinstance(target_ns, str) and target_ns:
            set_default_namespace(objects, target_ns, cluster_scoped_kinds(objects + result.objects), force=True)
        return objects

    def _flux_helmrelease(self, obj: K8sObject, result: Expansion, target: str, kube_version: str) -> list[K8sObject]:
        spec = _map(obj.body.get("spec"))
        chart_spec = _map(_map(spec.get("chart")).get("spec"))
        if not chart_spec:
            result.findings.append(Finding.on(obj, "SY402", "HelmRelease without spec.chart.spec is not rendered (chartRef is not supported)",
                                              path=("spec",), hint="use spec.chart.spec with a HelmRepository source", severity="warning"))
            return []
        ref = _map(chart_spec.get("sourceRef"))
        ns = obj.namespace or "default"
        repo_obj = self._find(result, *FLUX_HELMREPOSITORY, str(ref.get("name", "")), str(ref.get("namespace") or ns))
        if ref.get("kind", "HelmRepository") != "HelmRepository" or repo_obj is None:
            result.findings.append(Finding.on(
                obj, "SY402", f"chart source {ref.get('kind', 'HelmRepository')} {ref.get('name')!r} is not defined in this entry point",
                path=("spec", "chart", "spec", "sourceRef"), hint="define the HelmRepository the release names"))
            return []
        url = str(_map(repo_obj.body.get("spec")).get("url", ""))
        chart = ChartRef(url, str(chart_spec.get("chart", "")), str(chart_spec.get("version", "*")),
                         obj.source.path, obj.line_of(("spec", "chart", "spec", "version")))
        result.charts.append(chart)
        values: list[dict[str, Any]] = []
        for index, item in enumerate(_list(spec.get("valuesFrom"))):
            if not isinstance(item, dict):
                continue
            layer = self._values_from(obj, item, index, result, ns)
            if layer is not None:
                values.append(layer)
        if isinstance(spec.get("values"), dict):
            values.append(spec["values"])
        target_ns = spec.get("targetNamespace") or ns
        release = spec.get("releaseName") or (f"{spec['targetNamespace']}-{obj.name}" if spec.get("targetNamespace") else obj.name)
        crds = str(_map(spec.get("install")).get("crds") or "Create")
        records = self.helm_records(chart, release=str(release), namespace=str(target_ns), values=values,
                                    kube_version=kube_version, include_crds=crds != "Skip")
        objects = self.to_objects(records, f"{target} > HelmRelease {ns}/{obj.name}")
        set_default_namespace(objects, str(target_ns), cluster_scoped_kinds(objects))
        return objects

    def _values_from(self, obj: K8sObject, item: dict[str, Any], index: int, result: Expansion, ns: str) -> dict[str, Any] | None:
        kind = item.get("kind", "ConfigMap")
        name = str(item.get("name", ""))
        key = str(item.get("valuesKey") or "values.yaml")
        source = self._find(result, "", kind, name, ns)
        path = ("spec", "valuesFrom", index)
        if source is None:
            if not item.get("optional"):
                result.findings.append(Finding.on(obj, "SY402", f"valuesFrom {kind} {name!r} is not defined in this entry point",
                                                  path=path, hint="generate it (configMapGenerator) next to the HelmRelease"))
            return None
        data = _map(source.body.get("data"))
        text = data.get(key)
        if kind == "Secret" and text is None:
            text = _map(source.body.get("stringData")).get(key)
        if text is None:
            result.findings.append(Finding.on(obj, "SY402", f"valuesFrom {kind} {name!r} has no key {key!r}", path=path,
                                              hint="set valuesKey to a key the ConfigMap holds"))
            return None
        try:
            layer = _values_layer(str(text), f"{kind} {name} key {key}") or {}
        except ShipyardError as exc:
            result.findings.append(Finding.on(obj, "SY402", f"values in {kind} {name!r} key {key!r} are not valid YAML: "
                                              f"{exc.message}" + (f" (line {exc.line} of the values)" if exc.line else ""),
                                              path=path, hint="fix the values file the ConfigMap is generated from"))
            return None
        target_path = item.get("targetPath")
        if target_path:
            nested: dict[str, Any] = {}
            cursor = nested
            parts = str(target_path).split(".")
            for part in parts[:-1]:
                cursor = cursor.setdefault(part, {})
            cursor[parts[-1]] = layer
            layer = nested
        return layer if isinstance(layer, dict) else None

    def _argo_application(self, obj: K8sObject, result: Expansion, target: str, kube_version: str, seen: set[str]) -> list[K8sObject]:
        spec = _map(obj.body.get("spec"))
        sources: list[tuple[dict[str, Any], JsonPath]]
        if isinstance(spec.get("sources"), list):
            sources = [(s, ("spec", "sources", i)) for i, s in enumerate(spec["sources"]) if isinstance(s, dict)]
        elif isinstance(spec.get("source"), dict):
            sources = [(spec["source"], ("spec", "source"))]
        else:
            return []
        refs = {s["ref"]: s for s, _ in sources if isinstance(s.get("ref"), str) and s["ref"]}
        destination = str(_map(spec.get("destination")).get("namespace") or "")
        sub_target = f"{target} > Application {obj.name}"
        out: list[K8sObject] = []
        for source, path in sources:
            repo_url = str(source.get("repoURL", ""))
            if source.get("chart"):
                out += self._argo_chart(obj, source, path, refs, destination, kube_version, result, sub_target)
            elif source.get("path") is not None and same_repo(repo_url, self.repo.repository_url):
                rel = self._repo_path(obj, source.get("path"), path + ("path",), result, "source path")
                if rel is None or rel in seen:
                    continue
                seen.add(rel)
                folder = self.repo.root / rel
                if kustomize.kustomization_file(folder):
                    objects = self.kustomize_objects(rel, sub_target, result)
                else:
                    recurse = bool(_map(source.get("directory")).get("recurse"))
                    objects, findings = self.directory_objects(rel, sub_target, recurse)
                    result.findings += findings
                set_default_namespace(objects, destination, cluster_scoped_kinds(objects))
                out += objects
        return out

    def _argo_chart(self, obj: K8sObject, source: dict[str, Any], path: JsonPath, refs: dict[str, dict[str, Any]], destination: str,
                    kube_version: str, result: Expansion, target: str) -> list[K8sObject]:
        helm_spec = _map(source.get("helm"))
        chart = ChartRef(str(source.get("repoURL", "")), str(source.get("chart")), str(source.get("targetRevision", "*")),
                         obj.source.path, obj.line_of(path + ("targetRevision",)))
        result.charts.append(chart)
        values: list[dict[str, Any]] = []
        for index, value_file in enumerate(_list(helm_spec.get("valueFiles"))):
            layer = self._argo_value_file(obj, str(value_file), refs, path + ("helm", "valueFiles", index), result)
            if layer is not None:
                values.append(layer)
        if isinstance(helm_spec.get("values"), str) and helm_spec["values"].strip():
            try:
                inline = _values_layer(helm_spec["values"], f"Application {obj.name} helm.values")
            except ShipyardError as exc:
                result.findings.append(Finding.on(obj, "SY402", f"helm.values is not valid YAML: {exc.message}"
                                                  + (f" (line {exc.line} of the values)" if exc.line else ""),
                                                  path=path + ("helm", "values")))
                inline = None
            if isinstance(inline, dict):
                values.append(inline)
        if isinstance(helm_spec.get("valuesObject"), dict):
            values.append(helm_spec["valuesObject"])
        release = str(helm_spec.get("releaseName") or obj.name)
        records = self.helm_records(chart, release=release, namespace=destination or "default", values=values,
                                    kube_version=kube_version, include_crds=not helm_spec.get("skipCrds", False))
        objects = self.to_objects(records, target)
        set_default_namespace(objects, destination or "default", cluster_scoped_kinds(objects))
        return objects

    def _argo_value_file(self, obj: K8sObject, value_file: str, refs: dict[str, dict[str, Any]], path: JsonPath,
                         result: Expansion) -> dict[str, Any] | None:
        if not value_file.startswith("$"):
            result.findings.append(Finding.on(obj, "SY402", f"value file {value_file!r} is read from inside the chart; "
                                              "values must come from this repository", path=path,
                                              hint="use a `ref: values` source and `$values/<path>`", severity="warning"))
            return None
        ref_name, _, rel = value_file[1:].partition("/")
        ref = refs.get(ref_name)
        if ref is None or not same_repo(str(ref.get("repoURL", "")), self.repo.repository_url):
            result.findings.append(Finding.on(obj, "SY402", f"value file {value_file!r} names ref {ref_name!r}, "
                                              "which is not a source on this repository", path=path,
                                              hint="add a source with `ref: values` and this repository's URL"))
            return None
        file = _resolve(self.repo.root, Path(rel))
        if file is None or not file.is_relative_to(self.repo.root) or not file.is_file():
            result.findings.append(Finding.on(obj, "SY401", f"value file {rel!r} does not exist in the repository", path=path,
                                              hint="fix the path or add the values file"))
            return None
        from shipyard.load import load_documents, read_text

        docs = load_documents(read_text(file, rel), rel)
        layer = docs[0][0] if docs else {}
        return layer if isinstance(layer, dict) else {}
