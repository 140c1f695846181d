"""Shared builds: a kustomize build that several targets include runs once.

Every environment's overlay includes the same upstream bases
(base/kubeflow-pipelines, base/training-operator, base/katib: remote bases
at pinned tags). kustomize builds a base inside every build that includes
it, so a cold run fetched and built each upstream tree once per overlay,
three times, and those builds are most of a cold run's time. Here a
**shared base** (a local folder whose kustomization lists a remote resource)
is built once per run, by its own content key (the render cache's), and
the overlays are built from a staged copy of their local files in which
each shared base is replaced by a kustomization holding that base's
rendered objects. kustomize then applies the overlay's own patches,
components, namespace and labels to those objects as it would have to the
base's.

Two kustomize behaviours differ between a base built in place and one
supplied as rendered objects, and the staging refuses them (the overlay is
then built as before, in place):

- names: kustomize adds a generated ConfigMap's hash suffix, and resolves
  ``vars``, at the end of the outermost build. Above a shared base, a
  kustomization with ``vars``, ``replacements``, ``namePrefix`` or
  ``nameSuffix``, a generator merging into one of the base's
  (``behavior: merge|replace``), or generator, transformer or validator
  plugins, ``configurations``, ``crds`` or ``openapi`` is built in place;
  and when the overlay changed a generated object of the base (its name or
  data), which would change its hash, the overlay is built again in place.
- origins: kustomize sets each object's origin annotation to the file it
  read it from, which would be the staged file; the base's origins are
  carried in an annotation of their own and restored.

What stays different: a patch above a shared base that names an object by
the name it had *before* the base (or its upstream) renamed it matches in
place (kustomize tries the original name first) and not here.
``SHIPYARD_SHARED_BASES=0`` turns staging off.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.render.deps import _file_refs, is_remote, read_kustomization, resolve
from shipyard.render.kustomize import kustomization_file

PREBUILT_ANNOTATION = "shipyard.dev/prebuilt-record"
"""Annotation carrying, through the outer build, the index of each object
in its shared base's records (its origin, file and line)."""
STUB = "stub"
"""The tag of a stand-in's stub object, dropped from the output."""
PREBUILT_FILE = "shipyard-prebuilt.yaml"
DISABLE_ENV = "SHIPYARD_SHARED_BASES"

_REFUSED_KEYS = ("vars", "replacements", "namePrefix", "nameSuffix", "generators", "transformers", "validators",
                 "configurations", "crds", "openapi", "helmCharts", "helmChartInflationGenerator")


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class Plan:
    """How to build ``root_dir`` from a staged copy: the repository files to
    copy (repository-relative) and the shared bases to replace."""

    files: tuple[str, ...]
    bases: tuple[str, ...]  # repository-relative folders, each replaced by its rendered objects
    stubs: tuple[tuple[str, str, str, str], ...] = ()
    """(apiVersion, kind, namespace, name) of every object a patch above
    the bases names without a target selector: a strategic-merge patch
    kustomize refuses when nothing matches it (the stubs of a stand-in)."""
    selectors: tuple[tuple[str, str, str], ...] = ()
    """(kind, name, namespace) patterns of every patch above the bases
    (kustomize's anchored regular expressions; "" matches anything)."""
    kinds: frozenset[str] | None = None
    """The kinds the kustomizations above the bases can change (patches
    name them), None for every kind (a namespace, labels, images...).
    Objects of other kinds pass the outer build untouched, so they are not
    handed to kustomize at all: the upstream CRDs are most of the bytes."""


def _normal(path: Path) -> Path:
    return Path(os.path.normpath(path))


def _lists_remote(data: dict[str, Any]) -> bool:
    return any(isinstance(r, str) and is_remote(r) for key in ("resources", "bases") for r in _list(data.get(key)))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _refusal(data: dict[str, Any]) -> str | None:
    """Why a kustomization above a shared base needs the base built in
    place (see the module docstring), or None."""
    for key in _REFUSED_KEYS:
        if data.get(key):
            return key
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in _list(data.get(key)):
            if isinstance(gen, dict) and str(gen.get("behavior") or "create") != "create":
                return f"{key} behavior {gen.get('behavior')}"
    return None


_EVERY_OBJECT = ("namespace", "commonLabels", "labels", "commonAnnotations", "images", "replicas", "sortOptions",
                 "buildMetadata")
_PLAIN_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def _touched_kinds(data: dict[str, Any], here: Path, stubs: set[tuple[str, str, str, str]],
                   selectors: set[tuple[str, str, str]]) -> set[str] | None:
    """The kinds one kustomization's transformations can change, or None
    for any: a field that acts on every object, a patch whose target names
    no kind (or a pattern of kinds), a patch that cannot be read. The ids
    its untargeted patches name are added to ``stubs``."""
    kinds: set[str] = set()
    every = any(data.get(key) for key in _EVERY_OBJECT)
    for key in ("patches", "patchesJson6902", "patchesStrategicMerge"):
        for item in _list(data.get(key)):
            if isinstance(item, dict) and isinstance(item.get("target"), dict):
                target = item["target"]
                selectors.add(tuple(str(target.get(k) or "") for k in ("kind", "name", "namespace")))  # type: ignore[arg-type]
                kind = target.get("kind")
                if not isinstance(kind, str) or not _PLAIN_KIND.match(kind):
                    return None
                kinds.add(kind)
                continue
            text: str | None = None
            if isinstance(item, str):
                text = item if "\n" in item.strip() else _read(here / item)
            elif isinstance(item, dict) and isinstance(item.get("patch"), str):
                text = item["patch"]
            elif isinstance(item, dict) and isinstance(item.get("path"), str):
                text = _read(here / item["path"])
            docs = _documents(text)
            if docs is None:
                return None
            for doc in docs:
                kind = doc.get("kind") if isinstance(doc, dict) else None
                if not isinstance(kind, str) or not kind:
                    return None  # a JSON patch without a target, or no kind: kustomize decides
                kinds.add(kind)
                meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
                stubs.add((str(doc.get("apiVersion") or ""), kind, str(meta.get("namespace") or ""),
                           str(meta.get("name") or "")))
                selectors.add((re.escape(kind), re.escape(str(meta.get("name") or "")),
                               re.escape(str(meta.get("namespace") or ""))))
    return None if every else kinds


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _documents(text: str | None) -> list[Any] | None:
    if text is None:
        return None
    from shipyard.errors import ShipyardError
    from shipyard.load import load_documents

    try:
        return [body for body, _line in load_documents(text, "patch")]
    except ShipyardError:
        return None


def plan(folder: Path, repo_root: Path) -> Plan | None:
    """The staging plan for ``kustomize build folder``, or None when there
    is nothing to share (no shared base below it) or the build must run in
    place: a reference that leaves the repository or goes through a
    symlink, a remote resource above the shared bases, or a refused field."""
    if not enabled():
        return None
    root = repo_root.resolve()
    start = resolve(folder)
    if start is None or not start.is_relative_to(root):
        return None
    files: set[str] = set()
    bases: set[str] = set()
    kinds: set[str] | None = set()
    stubs: set[tuple[str, str, str, str]] = set()
    selectors: set[tuple[str, str, str]] = set()
    pending = [start]
    seen: set[Path] = set()
    while pending:
        here = pending.pop()
        if here in seen:
            continue
        seen.add(here)
        kfile = kustomization_file(here)
        if kfile is None:
            return None
        data = read_kustomization(kfile)
        if here != start and _lists_remote(data):
            bases.add(here.relative_to(root).as_posix())
            continue
        if _lists_remote(data) or _refusal(data):
            return None
        files.add(kfile.relative_to(root).as_posix())
        touched = _touched_kinds(data, here, stubs, selectors)
        kinds = None if touched is None or kinds is None else kinds | touched
        for ref in _file_refs(data):
            if is_remote(ref):
                return None
            literal = _normal(here / ref)
            target = resolve(here / ref)
            if target is None or target != literal or not target.is_relative_to(root):
                return None  # a symlink or a path outside the repository: staging would change what it means
            if target.is_dir():
                pending.append(target)
            elif target.is_file():
                files.add(target.relative_to(root).as_posix())
            else:
                return None  # missing: kustomize says so, in place
    if not bases:
        return None
    return Plan(tuple(sorted(files)), tuple(sorted(bases)), tuple(sorted(stubs)), tuple(sorted(selectors)),
                None if kinds is None else frozenset(kinds))


def stage(staging: Plan, repo_root: Path, records: dict[str, list[Any]], into: Path, *,
          stubs_in: str | None = None) -> list[tuple[int, int]]:
    """Write the staged tree under ``into``: the plan's files copied at
    their repository paths, and each shared base as a kustomization of one
    file holding its rendered objects (those of the kinds the outer build
    may change), each tagged with (base, index). Returns the (base, index)
    of the objects left out: they pass the outer build as they are."""
    passed: list[tuple[int, int]] = []
    for rel in staging.files:
        dest = into / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(repo_root / rel, dest)
    for base in staging.bases:
        folder = into / base
        folder.mkdir(parents=True, exist_ok=True)
        docs = []
        for index, (body, _where, _line, _local) in enumerate(records[base]):
            number = staging.bases.index(base)
            if staging.kinds is not None and body.get("kind") not in staging.kinds:
                passed.append((number, index))
                continue
            tagged = dict(body)
            meta = dict(tagged.get("metadata") or {})
            annotations = dict(meta.get("annotations") or {})
            annotations[PREBUILT_ANNOTATION] = tag(number, index)
            meta["annotations"] = annotations
            tagged["metadata"] = meta
            docs.append(tagged)
        if base == stubs_in:
            for api_version, kind, namespace, name in staging.stubs:
                meta = {"name": name, "annotations": {PREBUILT_ANNOTATION: STUB}}
                if namespace:
                    meta["namespace"] = namespace
                docs.append({"apiVersion": api_version, "kind": kind, "metadata": meta})
        # JSON is YAML: exact for every scalar (no YAML 1.1 re-reading of
        # strings such as "on" or "0755"), and fast to write.
        try:
            text = "\n---\n".join(json.dumps(d, sort_keys=False, allow_nan=False) for d in docs) + "\n"
        except (TypeError, ValueError) as exc:  # a value JSON cannot say (.inf): build in place
            raise NotEquivalent(base) from exc
        (folder / PREBUILT_FILE).write_text(text, encoding="utf-8")
        (folder / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"resources:\n- {PREBUILT_FILE}\n", encoding="utf-8")
    return passed


def staged_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="shipyard-staged-"))


HASH_SUFFIX = re.compile(r"-[bcdfghkmt2-9]{10}$")
"""The suffix kustomize appends to a generated name (api/hasher)."""


def _matches(pattern: str, value: str) -> bool:
    if not pattern:
        return True
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return True  # not a pattern Python reads: assume it matches


def patched_generated(staging: Plan, body: dict[str, Any]) -> bool:
    """Whether a patch above the bases may select the generated object
    ``body`` by the name it had before its hash suffix (kustomize selects
    by that name first; in a staged build it is gone, so the patch would
    silently miss it). Such a build runs in place."""
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    name = str((meta or {}).get("name") or "")
    namespace = str((meta or {}).get("namespace") or "")
    names = {name, HASH_SUFFIX.sub("", name)}
    kind = str(body.get("kind") or "")
    return any(_matches(k, kind) and any(_matches(n, x) for x in names) and _matches(ns, namespace)
               for k, n, ns in staging.selectors)


class NotEquivalent(Exception):
    """The staged build would not give the in-place result (an object of a
    shared base changed where its hash depends on it, or lost its tag)."""


def tag(base: int, index: int) -> str:
    return f"{base}:{index}"


def parse_tag(value: Any, prebuilt: list[Any]) -> tuple[int, int]:
    """(base, index) of a tag ``stage`` wrote; NotEquivalent for anything
    else (the outer build rewrote it)."""
    try:
        base_text, index_text = str(value).split(":")
        base, index = int(base_text), int(index_text)
        if 0 <= base < len(prebuilt) and 0 <= index < len(prebuilt[base][0]):
            return base, index
    except ValueError:
        pass
    raise NotEquivalent(str(value))


def same_generated(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """A generated object the outer build left as the base built it (name
    and the hashed fields), so its hash suffix is the one in place too."""
    keys = ("data", "binaryData", "type", "kind")
    name = lambda b: (b.get("metadata") or {}).get("name")  # noqa: E731
    return name(before) == name(after) and all(before.get(k) == after.get(k) for k in keys)

