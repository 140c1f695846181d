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
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shipyard.errors import RenderError, ShipyardError
from shipyard.findings import Finding
from shipyard.objects import JsonPath, K8sObject
from shipyard.render import helm as helm_mod
from shipyard.render import kustomize, preflight, rendered, shared, split
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
FLUX_HELMCHART = ("source.toolkit.fluxcd.io", "HelmChart")
FLUX_OCIREPOSITORY = ("source.toolkit.fluxcd.io", "OCIRepository")
ARGO_APPLICATION = ("argoproj.io", "Application")
ARGO_APPPROJECT = ("argoproj.io", "AppProject")
GITOPS_KINDS = (FLUX_KUSTOMIZATION, FLUX_HELMRELEASE, ARGO_APPLICATION)

MIRRORED_OCI = "mirror+"
"""Prefix of the repository URL an OCI chart is fetched from when the mirror
holds it: helm answers every chart repository URL but an oci:// one from the
mirror's chart repository (render/helm.py), where an OCI chart is kept under
its name and version like any other chart."""

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


def is_settings_file(root: Path, path: Path) -> bool:
    """Whether ``path`` is one of shipyard's own files (docs/layout.md):
    shipyard.yaml at the root, clusters/<c>/cluster.yaml (kind Cluster),
    models/<m>/model.yaml (kind Model). They are read by the repository and
    the model checks; no engine applies them, and read as Kubernetes
    objects they would only be unknown kinds."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return False
    return parts == ("shipyard.yaml",) or (
        len(parts) == 3 and (parts[0], parts[2]) in {("clusters", "cluster.yaml"), ("models", "model.yaml")})


def folder_inputs(folder: Path, root: Path | None = None) -> list[tuple[str, Path]]:
    """What a plain folder holds for a render, sorted by path: ("file", a
    manifest) and ("kustomization", a subfolder with a kustomization file,
    not descended into: its files are that build's inputs). Skipped: a
    kustomize Component (it cannot be built alone, kustomize refuses; it is
    checked in the kustomizations that include it), a Helm chart (a folder
    with Chart.yaml: its templates are not YAML until helm renders them,
    where a HelmRelease or an Application names the chart), and hidden
    files and folders (.git, .venv, a cache, a .github of workflows), and,
    given the repository ``root``, shipyard's own settings files
    (``is_settings_file``). Symlinked folders are not followed (a link back
    up would never end)."""
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
                  if not name.startswith(".") and name.endswith(MANIFEST_SUFFIXES) and (here / name).is_file()
                  and not (root is not None and is_settings_file(root, here / name))]
    return sorted(found, key=lambda item: item[1])


def same_repo(url: str, other: str) -> bool:
    def norm(u: str) -> str:
        u = u.strip().rstrip("/")
        return u[:-4] if u.endswith(".git") else u

    return bool(url) and norm(url) == norm(other)


def _text(value: Any) -> str:
    """A field that should be a string, as one ("" when it is missing or of
    another type), so no message ever reads None."""
    return value.strip() if isinstance(value, str) else ""


def _named(namespace: str, name: str) -> str:
    """``namespace/name`` of a reference, quoted; saying so when it names nothing."""
    if not name:
        return "(no name)"
    return repr(f"{namespace}/{name}" if namespace else name)


@dataclass
class Expansion:
    """The result of rendering one target: every object, plus findings about
    the GitOps wiring itself (a path that does not exist, a missing source).

    ``context`` holds objects a reference may name that are not part of the
    target: for a file checked alone, the objects of its folder (the
    HelmRepository beside a HelmRelease). ``scope`` says where references
    were looked for, in messages; ``partial`` is set for a target that is
    not a cluster entry point, whose references the entry point that
    deploys it may settle: one it cannot resolve is a warning that it was
    not checked, not an error."""

    objects: list[K8sObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    charts: list[ChartRef] = field(default_factory=list)
    context: list[K8sObject] = field(default_factory=list)
    scope: str = "this entry point"
    partial: bool = False
    file_target: bool = False


class Renderer:
    def __init__(
        self,
        repo: Repository,
        *,
        mirror: Mirror | None = None,
        binaries: Binaries | None = None,
        cache: RenderCache | None = None,
        render_releases: bool = False,
    ) -> None:
        self.repo = repo
        self._binaries = binaries
        self._helm: Helm | None = None
        self._tools_lock = threading.Lock()
        self.mirror = mirror
        self.cache = cache or RenderCache(repo.root / ".shipyard-cache")
        # A rendered file (``shipyard render --sources`` output) checked alone
        # already holds what its GitOps objects produce: expanded again only
        # when asked (see shipyard.render.rendered).
        self.render_releases = render_releases
        self.index = SourceIndex(repo.root)
        self._memo: dict[str, list[Record]] = {}
        self._generated: dict[str, frozenset[int] | None] = {}
        # --changed-since: the files changed since the ref, when upstream
        # bases none of them reaches may be stood in for (shared.py, "Stand-ins").
        self.stand_in_unless: set[str] | None = None
        self.stood_in: set[str] = set()
        self._partial: set[str] = set()
        # Prefetch: the builds and templates a target will ask for, started
        # on a small pool as soon as they are known (``_prefetch``).
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self.workers = 2
        """Tool processes to run at once when prefetching (1: none)."""
        self._memo_lock = threading.Lock()
        self._path_locks: dict[str, threading.Lock] = {}
        self._mirror_charts: dict[str, set[str]] | None = None

    @property
    def binaries(self) -> Binaries:
        """The pinned helm and kubectl, found on first use: checking plain
        manifest files runs neither, and asking each its version costs a
        tenth of a second."""
        with self._tools_lock:
            if self._binaries is None:
                self._binaries = find_binaries()
            return self._binaries

    @property
    def helm(self) -> Helm:
        binaries = self.binaries
        with self._tools_lock:
            if self._helm is None:
                self._helm = Helm(binaries, self.cache.root, self.mirror)
            return self._helm

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
        if self._dry():
            self._submit(self._kustomize, rel_path)
            return []
        return self._kustomize(rel_path)[0]

    def _dry(self) -> bool:
        return bool(getattr(self._local, "dry", False))

    def _submit(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        """Start ``fn`` on the prefetch pool; its errors are dropped here
        (the target's own call meets them again, with its context)."""
        with self._tools_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="shipyard-prefetch")
            pool = self._pool

        def quiet() -> None:
            try:
                fn(*args, **kwargs)
            except Exception:  # noqa: BLE001 - reported by the target's own call
                pass

        pool.submit(quiet)

    def _prefetch(self, objects: list[K8sObject], result: Expansion, target: str, kube_version: str,
                  seen: set[str], *, releases: bool = False) -> None:
        """Start, in parallel, the kustomize builds and helm templates the
        GitOps objects among ``objects`` will ask for: a target expands them
        one after the other, and a run of few targets (--changed-since) would
        otherwise use one core. The expansion runs "dry" (each build or
        template is started on the pool instead of awaited, and returns
        nothing) on a scratch result, so nothing of it reaches the target;
        the real expansion then finds each render done or under way (one
        lock per render). HelmReleases only at ``releases`` (their sources
        and values may come from any Kustomization of the target)."""
        if self.workers <= 1:
            return
        wanted = (FLUX_HELMRELEASE,) if releases else (FLUX_KUSTOMIZATION, ARGO_APPLICATION)
        picked = [o for o in objects if (o.group, o.kind) in wanted]
        if len(picked) < 1 or (len(picked) < 2 and not releases and self._pool is None):
            return
        scratch = Expansion(objects=result.objects, context=result.context, scope=result.scope,
                            partial=result.partial, file_target=result.file_target)
        self._local.dry = True
        try:
            for obj in picked:
                obj = self._as_built(obj, result)
                try:
                    if (obj.group, obj.kind) == FLUX_HELMRELEASE:
                        self._flux_helmrelease(obj, scratch, target, kube_version)
                    elif (obj.group, obj.kind) == FLUX_KUSTOMIZATION:
                        self._flux_kustomization(obj, scratch, target, set(seen))
                    else:
                        self._argo_application(obj, scratch, target, kube_version, set(seen))
                except Exception:  # noqa: BLE001 - the real expansion reports it
                    continue
        finally:
            self._local.dry = False

    def _kustomize(self, rel_path: str, *, blocking: bool = True) -> tuple[list[Record], frozenset[int] | None]:
        """(records, indices of the objects kustomize generated, None when
        not known) of ``kustomize build <rel_path>``: once per run whatever
        the number of targets or threads that ask (a lock per path; the
        first asker renders, the others wait for its result), and once per
        content (the render cache). ``blocking`` False: return ([], None)
        at once when another thread is rendering it."""
        lock = self._lock_for("k:" + rel_path)
        if not lock.acquire(blocking=blocking):
            return [], None
        try:
            if rel_path in self._memo:
                return self._memo[rel_path], self._generated.get(rel_path)
            path = (self.repo.root / rel_path).resolve()
            files, remotes = local_inputs(path)
            key = RenderCache.key("kustomize", rel_path, RenderCache.files_digest(files, self.repo.root), sorted(remotes), self.fingerprint)
            gen_key = RenderCache.key("kustomize-generated", key)
            records = self.cache.get(key)
            generated = self.cache.get(gen_key) if records is not None else None
            if records is None:
                preflight.check_tree(path, self.repo.root, label=rel_path)
                records, generated = self._build(rel_path, path)
                if rel_path not in self._partial:
                    self.cache.put(key, records)
                    self.cache.put(gen_key, generated)
            self._memo[rel_path] = records
            self._generated[rel_path] = generated if isinstance(generated, frozenset) else None
            return records, self._generated[rel_path]
        finally:
            lock.release()

    def _build(self, rel_path: str, path: Path) -> tuple[list[Record], frozenset[int]]:
        """Run kustomize for ``rel_path``: split into parts when it only
        lists many folders (``split.parts``), from a staged copy when it
        includes shared bases (shipyard.render.shared), else in place."""
        parts = split.parts(path, self.repo.root)
        if parts is not None:
            found = self._split_build(rel_path, parts)
            if found is not None:
                return found
        staging = shared.plan(path, self.repo.root)
        if staging is not None:
            found = self._staged_build(rel_path, staging)
            if found is not None:
                return found
        return self._build_in_place(rel_path, path)

    def _build_in_place(self, rel_path: str, path: Path) -> tuple[list[Record], frozenset[int]]:
        try:
            text, wrapper = kustomize.build(path, self.binaries, self.mirror, label=rel_path)
        except RenderError as exc:
            raise preflight.explain(exc, path, self.repo.root, label=rel_path, mirror=self.mirror is not None) from None
        return self._records_from_kustomize(text, wrapper)

    def _split_build(self, rel_path: str, parts: list[list[str]]) -> tuple[list[Record], frozenset[int]] | None:
        """The build of a kustomization that only lists folders, as the
        union of builds of slices of the list (shipyard.render.split: it
        equals the whole build, which costs kustomize time that grows with
        the square of the objects). None when the union is not that
        (two slices produce one object id): the whole build then runs and
        reports it as kustomize does."""
        def one(chunk: list[str]) -> tuple[list[Record], frozenset[int]]:
            folder = Path(tempfile.mkdtemp(prefix="shipyard-split-"))
            try:
                split.write_wrapper(folder, [self.repo.root / rel for rel in chunk])
                label = f"{rel_path} ({chunk[0]} to {chunk[-1]})"
                try:
                    text, wrapper = kustomize.build(folder, self.binaries, self.mirror, label=label)
                except RenderError:
                    return [], frozenset({-1})
                return self._records_from_kustomize(text, wrapper)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        if len(parts) > 1:
            with ThreadPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(one, parts))
        else:
            results = [one(parts[0])]
        if any(-1 in gen for _records, gen in results):
            return None  # a part failed: the whole build says why, as kustomize does
        merged = split.merge([records for records, _gen in results], [gen for _records, gen in results])
        return merged

    def _may_stand_in(self, base: str) -> bool:
        """Whether --changed-since may leave the shared base ``base``
        unrendered: no changed file is among its inputs, and no render of
        it is at hand (cached, or done in this run)."""
        if self.stand_in_unless is None or base in self._memo:
            return False
        path = (self.repo.root / base).resolve()
        files, remotes = local_inputs(path)
        if {self.repo.rel(f) for f in files if f.is_relative_to(self.repo.root)} & self.stand_in_unless:
            return False
        key = RenderCache.key("kustomize", base, RenderCache.files_digest(files, self.repo.root), sorted(remotes), self.fingerprint)
        return not self.cache.has(key)

    def _staged_build(self, rel_path: str, staging: shared.Plan, *,
                      stand_ins: bool = True) -> tuple[list[Record], frozenset[int]] | None:
        """``kustomize build rel_path`` with each shared base supplied as its
        rendered objects (rendered once per run and content, see
        shipyard.render.shared), or None when that would not give the
        in-place result: the caller builds in place. With ``stand_ins``
        (--changed-since), a base the change cannot reach and no render of
        which is at hand is left out (shared.py, "Stand-ins"); when the
        build then fails it runs again with every base."""
        bases: dict[str, tuple[list[Record], frozenset[int] | None]] = {}
        stood = [b for b in staging.bases if stand_ins and self._may_stand_in(b)]
        for base in stood:
            bases[base] = ([], frozenset())
        # Bases another thread is rendering are waited for last: meanwhile
        # this thread renders the others.
        for blocking in (False, True):
            for base in staging.bases:
                if base not in bases:
                    records, generated = self._kustomize(base, blocking=blocking)
                    if records or generated is not None or blocking:
                        bases[base] = (records, generated)
        if any(generated is None for _records, generated in bases.values()):
            return None
        if any(shared.patched_generated(staging, records[i][0]) for records, generated in bases.values()
               for i in generated or ()):
            return None
        order = list(staging.bases)
        into = shared.staged_dir()
        try:
            passed = shared.stage(staging, self.repo.root, {b: bases[b][0] for b in order}, into,
                                  stubs_in=stood[0] if stood else None)
            text, wrapper = kustomize.build(into / rel_path, self.binaries, self.mirror, label=rel_path)
            built, generated = self._records_from_kustomize(text, wrapper, root=into, prebuilt=[bases[b] for b in order])
            if passed:
                rest = [bases[order[b]][0][i] for b, i in passed]
                rest_generated = frozenset(n for n, (b, i) in enumerate(passed) if i in (bases[order[b]][1] or ()))
                merged = split.merge([built, rest], [generated, rest_generated])
                if merged is None:
                    raise shared.NotEquivalent(rel_path)
                built, generated = merged
        except (RenderError, shared.NotEquivalent):
            if stood:
                return self._staged_build(rel_path, staging, stand_ins=False)
            return None  # in place, kustomize's own message names the repository's files
        finally:
            shutil.rmtree(into, ignore_errors=True)
        if stood:
            self._partial.add(rel_path)
            self.stood_in.update(stood)
        return built, generated

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

    def _records_from_kustomize(
        self, text: str, wrapper: Path, *, root: Path | None = None,
        prebuilt: list[tuple[list[Record], frozenset[int] | None]] | None = None,
    ) -> tuple[list[Record], frozenset[int]]:
        """Records of kustomize output, and the indices of the objects a
        generator made. ``root``: the tree the build read (a staged copy of
        the repository); ``prebuilt``: the shared bases staged there, whose
        objects take back their own origin (shipyard.render.shared)."""
        from shipyard.load import load_documents

        base_root = root or self.repo.root
        records: list[Record] = []
        generated: set[int] = set()
        for body, _line in load_documents(text, "kustomize output"):
            if not isinstance(body, dict):
                continue
            meta_value = body.get("metadata")
            meta: dict[str, Any] = meta_value if isinstance(meta_value, dict) else {}
            annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else None
            origin = kustomize.parse_origin(annotations.pop(kustomize.ORIGIN, None)) if annotations else {}
            tag = annotations.pop(shared.PREBUILT_ANNOTATION, None) if annotations and prebuilt is not None else None
            if annotations is not None and not annotations:
                meta.pop("annotations", None)
            if tag == shared.STUB:
                continue  # a stand-in's stub (shared.py): no object of the repository
            if tag is not None and prebuilt is not None:
                base, index = shared.parse_tag(tag, prebuilt)
                base_records, base_generated = prebuilt[base]
                before, where, line, local = base_records[index]
                if base_generated and index in base_generated:
                    if not shared.same_generated(before, body):
                        raise shared.NotEquivalent(where)
                    generated.add(len(records))
                records.append((body, where, line, local))
                continue
            where, local = kustomize.origin_source(origin, wrapper_dir=wrapper, repo_root=base_root)
            if prebuilt is not None and where.endswith("/" + shared.PREBUILT_FILE):
                raise shared.NotEquivalent(where)  # the outer build dropped the tag: its origin is lost here
            if origin.get("configuredBy"):
                generated.add(len(records))
            line = 0
            if local and where:
                line = self.index.locate(where, str(body.get("kind", "")), str(meta.get("name", "")))
            records.append((body, where or "kustomize output", line, local))
        return records, frozenset(generated)

    def chart_may_stand_in(self, release: K8sObject, inputs: list[str]) -> bool:
        """Whether --changed-since may leave the chart ``release`` (a
        HelmRelease or Argo CD Application) unrendered: the run checks a
        model change (``stand_in_unless``), and neither the release's own
        file nor any file its values come from (``inputs``) changed or lies
        in a model's folders. Its objects are then what they were at the
        change's base, and its CRDs come from the committed index, as for
        an upstream base (docs/checks.md, "What --changed-since renders").
        The answer does not depend on the render cache, so the Argo CD and
        Flux sides of a cluster stand the same charts in."""
        if self.stand_in_unless is None or not shared.enabled():
            return False
        from shipyard.changes import model_paths

        folders = model_paths(self.repo)
        return not any(
            not file or file in self.stand_in_unless or any(file.startswith(folder) for folder in folders)
            for file in (release.source.path, *inputs)
        )

    def helm_records(
        self, chart: ChartRef, *, release: str, namespace: str, values: list[dict[str, Any]], kube_version: str,
        include_crds: bool, stand_in: bool = False,
    ) -> list[Record]:
        """``helm template`` of one release, once per run and content.
        ``stand_in`` (see ``chart_may_stand_in``): nothing is rendered."""
        if stand_in:
            with self._tools_lock:
                self.stood_in.add(f"chart {chart.name} {chart.version}")
            return []
        if self._dry():
            self._submit(self.helm_records, chart, release=release, namespace=namespace, values=copy.deepcopy(values),
                         kube_version=kube_version, include_crds=include_crds)
            return []
        key = RenderCache.key("helm", chart.key, release, namespace, values, kube_version, include_crds, self.fingerprint)
        with self._lock_for("h:" + key):
            if key in self._memo:
                return self._memo[key]
            records = self.cache.get(key)
            if records is None:
                text = self.helm.template(
                    chart, release=release, namespace=namespace, values=values, kube_version=kube_version,
                    include_crds=include_crds,
                )

                def where_of(template: str) -> str:
                    first, _, rest = template.partition("/")
                    return f"chart:{chart.name}-{chart.version}/{rest or first}" if template else f"chart:{chart.name}-{chart.version}"

                records = [(body, where_of(template), 0, False)
                           for template, body in helm_mod.sourced_documents(text, where_of) if isinstance(body, dict)]
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
        for kind, path in folder_inputs(self.repo.root / rel, self.repo.root):
            if kind == "kustomization":
                objects += self.kustomize_objects(self.repo.rel(path), target, result)
            else:
                found, findings = self.file_objects(self.repo.rel(path), target)
                objects += found
                result.findings += findings
        return objects

    # -- targets ----------------------------------------------------------

    def render_path(self, rel: str, target: str, kube_version: str, *, entry_point: bool = True) -> Expansion:
        """A kustomization folder, a plain folder or a manifest file, with any
        GitOps objects in it expanded. ``entry_point`` False: the target is
        a part of what a cluster deploys (an overlay, a folder, a file), and
        a reference it leaves unresolved is reported as not checked."""
        path = self.repo.root / rel
        result = Expansion(scope="this entry point" if entry_point else rel, partial=not entry_point)
        if path.is_file():
            objects, findings = self.file_objects(rel, target)
            result.findings += findings
            result.file_target = True
            if rendered.restore_origins(path, objects) and not self.render_releases:
                result.objects.extend(objects)
                return result
            if any((o.group, o.kind) in GITOPS_KINDS for o in objects):
                result.context = self._folder_context(rel, target)
                result.scope = f"{rel} or its folder"
        elif path.is_dir() and kustomize.kustomization_file(path):
            objects = self.kustomize_objects(rel, target, result)
        elif path.is_dir():
            objects = self.folder_objects(rel, target, result)
        else:
            raise ShipyardError(f"{rel}: no such file or folder", file=rel, check="SY900")
        self.expand(objects, target=target, kube_version=kube_version, result=result, seen={rel})
        return result

    def _folder_context(self, rel: str, target: str) -> list[K8sObject]:
        """The objects of a file's folder, for the references a file checked
        alone makes (a HelmRelease's HelmRepository and values ConfigMap sit
        in sibling files): the folder's kustomize build when it has a
        kustomization file (with the names it generates: a hashed values
        ConfigMap), else its other manifests. Empty when the folder is the
        repository's root or does not build: the references are then
        reported as not checked, never as missing."""
        folder = (self.repo.root / rel).parent
        if folder == self.repo.root:
            return []
        folder_rel = self.repo.rel(folder)
        try:
            if kustomize.kustomization_file(folder):
                return self.to_objects(self.kustomize_records(folder_rel), target)
            objects, _findings = self.directory_objects(folder_rel, target, recurse=False)
        except ShipyardError:
            return []
        return [o for o in objects if o.source.path != rel]

    def _as_built(self, obj: K8sObject, result: Expansion) -> K8sObject:
        """For a file checked alone, the object as its folder's kustomization
        builds it (generated names rewritten, the namespace set), which is
        what the engine reads; ``obj`` itself when there is none."""
        if not result.file_target:
            return obj
        for other in result.context:
            if (other.source.path == obj.source.path and other.group == obj.group and other.kind == obj.kind
                    and other.name == obj.name):
                return other
        return obj

    def _unresolved(self, obj: K8sObject, what: str, field_path: JsonPath, hint: str, result: Expansion, *,
                    partial: bool | None = None) -> None:
        """A reference to ``what`` that nothing in the target defines: an
        error in an entry point (the engine would fail), a warning that it
        was not checked in a part of one (the entry point that deploys it
        may define it)."""
        if result.partial if partial is None else partial:
            result.findings.append(Finding.on(
                obj, "SY402", f"{what} is not defined in {result.scope}: the reference was not checked here",
                path=field_path, severity="warning",
                hint="validate the cluster entry point that deploys it (clusters/<cluster>/flux), where it must be defined"))
        else:
            result.findings.append(Finding.on(obj, "SY402", f"{what} is not defined in {result.scope}", path=field_path,
                                              hint=hint))

    # -- expansion --------------------------------------------------------

    def expand(self, seed: list[K8sObject], *, target: str, kube_version: str, result: Expansion, seen: set[str]) -> None:
        """Expand Argo CD Applications and Flux Kustomizations/HelmReleases in
        ``seed`` until only plain objects remain; everything lands in ``result``."""
        result.objects.extend(seed)
        queue = list(seed)
        releases: list[K8sObject] = []
        self._prefetch(seed, result, target, kube_version, seen)
        while queue:
            obj = self._as_built(queue.pop(0), result)
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
            if new:
                self._prefetch(new, result, target, kube_version, seen)
            if not queue and releases:
                # HelmReleases last: their HelmRepository and values ConfigMaps
                # may come from any Kustomization of the entry point.
                self._prefetch(releases, result, target, kube_version, seen, releases=True)
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
        """The object of that group, kind, name and namespace in the target,
        else in its context (a file's folder)."""
        for obj in [*result.objects, *result.context]:
            if obj.group == group and obj.kind == kind and obj.name == name and (obj.namespace or namespace) == namespace:
                return obj
        return None

    def _flux_kustomization(self, obj: K8sObject, result: Expansion, target: str, seen: set[str]) -> list[K8sObject]:
        spec = _map(obj.body.get("spec"))
        ref = _map(spec.get("sourceRef"))
        if ref.get("kind", "GitRepository") != "GitRepository":
            return []
        name, namespace = _text(ref.get("name")), _text(ref.get("namespace")) or obj.namespace
        source = self._find(result, *FLUX_GITREPOSITORY, name, namespace)
        if source is None:
            # The GitRepository of this repository is the cluster entry
            # point's (flux-system/shipyard, docs/layout.md): only an entry
            # point can settle it.
            self._unresolved(obj, f"sourceRef GitRepository {_named(namespace, name)}", ("spec", "sourceRef"),
                             "define the GitRepository in the cluster's flux/ entry point", result)
            return []
        url = _text(_map(source.body.get("spec")).get("url"))
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
        ns = obj.namespace or "default"
        charts = self._release_chart(obj, spec, ns, result)
        if charts is None:
            return []
        chart, render_chart = charts
        values: list[dict[str, Any]] = []
        inputs: list[str] = []
        for index, item in enumerate(_list(spec.get("valuesFrom"))):
            if not isinstance(item, dict):
                continue
            layer = self._values_from(obj, item, index, result, ns)
            if layer is not None:
                values.append(layer)
            source = self._find(result, "", _text(item.get("kind")) or "ConfigMap", _text(item.get("name")), ns)
            inputs.append(source.source.path if source is not None else "")
        if isinstance(spec.get("values"), dict):
            values.append(spec["values"])
        target_ns = spec.get("targetNamespace") or ns
        release = spec.get("releaseName") or (f"{spec['targetNamespace']}-{obj.name}" if spec.get("targetNamespace") else obj.name)
        crds = str(_map(spec.get("install")).get("crds") or "Create")
        try:
            records = self.helm_records(render_chart, release=str(release), namespace=str(target_ns), values=values,
                                        kube_version=kube_version, include_crds=crds != "Skip",
                                        stand_in=self.chart_may_stand_in(obj, inputs))
        except ShipyardError as exc:
            if render_chart is chart:
                raise  # a chart repository's chart: as for every chart, the run stops with helm's error
            # An OCI chart found in the mirror by name that helm still refuses
            # (a version range no mirrored version meets): not rendered.
            result.findings.append(self._not_rendered(obj, chart, f"helm could not render it from the mirror: {exc.message}"))
            return []
        objects = self.to_objects(records, f"{target} > HelmRelease {ns}/{obj.name}")
        set_default_namespace(objects, str(target_ns), cluster_scoped_kinds(objects))
        return objects

    def _release_chart(self, obj: K8sObject, spec: dict[str, Any], ns: str,
                       result: Expansion) -> tuple[ChartRef, ChartRef] | None:
        """The chart a HelmRelease installs, as helm-controller finds it:
        (the pin, the reference to render it from), or None with a finding.

        ``spec.chart.spec`` names a chart of a HelmRepository; ``spec.chartRef``
        (helm-controller v1.6.3 getSource) a HelmChart (whose own sourceRef
        is a HelmRepository) or an OCIRepository, in the release's namespace
        unless it names one. Exactly one of the two is allowed
        (isValidChartRef)."""
        chart_spec = _map(_map(spec.get("chart")).get("spec"))
        chart_ref = spec.get("chartRef")
        # Both, or neither: the HelmRelease CRD's own CEL rule ("either chart
        # or chartRef must be set") refuses it, reported as SY109 with the
        # CRD's message; there is no chart to render.
        if chart_ref is not None and spec.get("chart") is not None:
            return None
        if chart_ref is not None:
            return self._chart_ref(obj, _map(chart_ref), ns, result)
        if not chart_spec:
            return None
        return self._repository_chart(obj, obj, chart_spec, ("spec", "chart", "spec"), ns, result)

    def _repository_chart(self, release: K8sObject, obj: K8sObject, chart_spec: dict[str, Any], at: JsonPath, ns: str,
                          result: Expansion) -> tuple[ChartRef, ChartRef] | None:
        """A chart named by ``chart_spec`` at ``at`` in ``obj`` (a
        HelmRelease's spec.chart.spec, or a HelmChart's spec: chart, version,
        sourceRef) in namespace ``ns``, for ``release``. Findings point at
        ``obj``, where the reference is written."""
        ref = _map(chart_spec.get("sourceRef"))
        kind = _text(ref.get("kind")) or "HelmRepository"
        name, namespace = _text(ref.get("name")), _text(ref.get("namespace")) or ns
        what = f"chart source {kind} {_named(namespace, name)}"
        if kind != "HelmRepository":
            # GitRepository and Bucket sources hold a chart's files; only
            # chart repositories are rendered.
            # The source exists or not (SY402 is about that); not rendering
            # it is a limit of this tool, reported like every chart not rendered.
            result.findings.append(Finding.on(
                obj, "SY903", f"{what}: a chart from a {kind} is not rendered, so its objects are not checked",
                path=at + ("sourceRef",), severity="warning",
                hint="check that release on a cluster, or use a HelmRepository (or an OCIRepository) source"))
            return None
        repo_obj = self._find(result, *FLUX_HELMREPOSITORY, name, namespace)
        if repo_obj is None:
            self._unresolved(obj, what, at + ("sourceRef",), "define the HelmRepository the release names", result,
                             partial=result.file_target and result.partial)
            return None
        repo_spec = _map(repo_obj.body.get("spec"))
        url = _text(repo_spec.get("url"))
        chart_name = _text(chart_spec.get("chart"))
        version = _text(chart_spec.get("version")) or "*"
        chart = ChartRef(url, chart_name, version, obj.source.path, obj.line_of(at + ("version",)))
        if url.startswith("oci://") or repo_spec.get("type") == "oci":
            oci = url if url.startswith("oci://") else f"oci://{url.split('://', 1)[-1]}"
            return self._oci_chart(release, replace(chart, repo_url=f"{oci.rstrip('/')}/{chart_name}"), result)
        held = self._mirror_chart_versions()  # empty when the index cannot be read: the pull says why
        if self.mirror and result.partial and held and chart_name not in held:
            # A part checked alone (a file, a folder) may name charts this
            # repository does not deploy: offline, say it was not rendered
            # rather than stop the whole run. An entry point's charts must be
            # mirrored, so there a failed pull stays an error.
            result.findings.append(self._not_rendered(obj, chart, f"the mirror {self.mirror.root / 'charts'} does "
                                                      f"not hold {chart_name}"))
            return None
        result.charts.append(chart)
        return chart, chart

    def _chart_ref(self, obj: K8sObject, ref: dict[str, Any], ns: str, result: Expansion) -> tuple[ChartRef, ChartRef] | None:
        """spec.chartRef: a HelmChart or an OCIRepository (ExternalArtifact
        is behind a feature gate and holds no chart this can fetch)."""
        kind, name = _text(ref.get("kind")), _text(ref.get("name"))
        namespace = _text(ref.get("namespace")) or ns
        at: JsonPath = ("spec", "chartRef")
        group = {"HelmChart": FLUX_HELMCHART, "OCIRepository": FLUX_OCIREPOSITORY}.get(kind)
        if group is None:
            result.findings.append(Finding.on(
                obj, "SY402", f"chartRef {kind or 'without a kind'} {_named(namespace, name)} is not rendered "
                "(a chart comes from an OCIRepository or a HelmChart), so its objects are not checked",
                path=at, severity="warning", hint="use an OCIRepository or HelmChart chartRef"))
            return None
        source = self._find(result, *group, name, namespace)
        if source is None:
            self._unresolved(obj, f"chartRef {kind} {_named(namespace, name)}", at,
                             f"define the {kind} next to the HelmRelease", result,
                             partial=result.file_target and result.partial)
            return None
        source_spec = _map(source.body.get("spec"))
        if kind == "HelmChart":
            if _list(source_spec.get("valuesFiles")):
                result.findings.append(Finding.on(
                    source, "SY402", "HelmChart valuesFiles (values files inside the chart) are not layered into the "
                    "render: the release is checked with the chart's values.yaml and the HelmRelease's values",
                    path=("spec", "valuesFiles"), severity="warning",
                    hint="give the values in the HelmRelease (values, valuesFrom) instead"))
            return self._repository_chart(obj, source, source_spec, ("spec",), source.namespace or namespace, result)
        url = _text(source_spec.get("url")).rstrip("/")
        tag_ref = _map(source_spec.get("ref"))
        version = _text(tag_ref.get("tag")) or _text(tag_ref.get("semver"))
        chart = ChartRef(url, url.rsplit("/", 1)[-1], version, source.source.path,
                         source.line_of(("spec", "ref")))
        if not version:
            result.findings.append(self._not_rendered(
                obj, chart, f"OCIRepository {_named(namespace, name)} names no tag or semver "
                "(a digest or the latest tag cannot be matched offline)"))
            return None
        return self._oci_chart(obj, chart, result)

    def _oci_chart(self, obj: K8sObject, chart: ChartRef, result: Expansion) -> tuple[ChartRef, ChartRef] | None:
        """An oci:// chart: rendered from the mirror when its chart
        repository holds that chart (by name, at that version or any
        version for a range), else reported as not rendered (no OCI
        registry is read)."""
        result.charts.append(chart)
        held = self._mirror_chart_versions().get(chart.name)
        exact = all(c.isalnum() or c in ".-+_" for c in chart.version)
        if held is None or (exact and chart.version not in held):
            where = (f"the mirror {self.mirror.root / 'charts'} does not hold {chart.name} {chart.version}"
                     if self.mirror else "OCI charts are rendered only from a mirror (SHIPYARD_MIRROR)")
            result.findings.append(self._not_rendered(obj, chart, where))
            return None
        return chart, replace(chart, repo_url=MIRRORED_OCI + chart.repo_url)

    def _not_rendered(self, obj: K8sObject, chart: ChartRef, why: str) -> Finding:
        return Finding("SY903", f"chart {chart.repo_url} {chart.version} of HelmRelease {_named(obj.namespace, obj.name)} "
                       f"was not rendered, so its objects are not checked: {why}",
                       file=chart.declared_in or obj.source.path, line=chart.line or obj.line_of(("spec",)),
                       hint="add the chart to the mirror's charts/ (then `helm repo index charts/` there), "
                       "or check that release on a cluster", object=obj.ref, target=obj.target, severity="warning")

    def _mirror_chart_versions(self) -> dict[str, set[str]]:
        """Chart name -> versions in the mirror's charts/index.yaml (empty
        without a mirror, or when the index cannot be read)."""
        if self._mirror_charts is None:
            found: dict[str, set[str]] = {}
            index = self.mirror.root / "charts" / "index.yaml" if self.mirror else None
            if index is not None and index.is_file():
                from shipyard.load import load_documents, read_text

                try:
                    docs = load_documents(read_text(index, str(index)), str(index))
                except ShipyardError:
                    docs = []
                entries = _map(_map(docs[0][0]).get("entries")) if docs else {}
                for name, versions in entries.items():
                    found[str(name)] = {_text(_map(v).get("version")) for v in _list(versions)}
            self._mirror_charts = found
        return self._mirror_charts

    def _values_from(self, obj: K8sObject, item: dict[str, Any], index: int, result: Expansion, ns: str) -> dict[str, Any] | None:
        kind = _text(item.get("kind")) or "ConfigMap"
        name = _text(item.get("name"))
        key = _text(item.get("valuesKey")) or "values.yaml"
        source = self._find(result, "", kind, name, ns)
        path = ("spec", "valuesFrom", index)
        if source is None:
            if not item.get("optional"):
                self._unresolved(obj, f"valuesFrom {kind} {name!r}", path,
                                 "generate it (configMapGenerator) next to the HelmRelease", result,
                                 partial=result.file_target and result.partial)
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
        chart = ChartRef(_text(source.get("repoURL")), _text(source.get("chart")), _text(source.get("targetRevision")) or "*",
                         obj.source.path, obj.line_of(path + ("targetRevision",)))
        result.charts.append(chart)
        values: list[dict[str, Any]] = []
        inputs: list[str] = []
        for index, value_file in enumerate(_list(helm_spec.get("valueFiles"))):
            if not isinstance(value_file, str):
                continue  # not a path: the schema check (SY101) reports its type
            inputs.append(value_file[1:].partition("/")[2] if value_file.startswith("$") else "")
            layer = self._argo_value_file(obj, value_file, refs, path + ("helm", "valueFiles", index), result)
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
                                    kube_version=kube_version, include_crds=not helm_spec.get("skipCrds", False),
                                    stand_in=self.chart_may_stand_in(obj, inputs))
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
