"""Split builds: a kustomization that only lists folders, built in slices.

kustomize's time grows with the square of the objects of one build (its
resource map is searched for every object it adds and every name it
fixes): ``overlays/<env>/models`` of a repository of 200 models took 12 s
where 50 took 1.4 s, and every command that reads the models
(``validate``, ``status``, ``promote``) paid it. A kustomization that only
lists folders (``resources:`` and nothing else: no namespace, labels,
patches, generators, sort options) builds to the union of its folders'
builds, so it is built as slices of ``SLICE`` folders, in parallel, and
the union put in the order kustomize's legacy sort gives
(kyaml/resid/gvk.go ``IsLessThan`` and api/internal/builtins
SortOrderTransformer.go ``legacyResIDSortString``, as kustomize v5.7 sorts
by default).

Two things a whole build does and slices would not are ruled out: two
folders that produce one object id are an error in the whole build (the
split is dropped and the whole build reports it), and the name reference
fixing of the outermost build, which only matters for a name changed by
the outermost kustomization (here none) or for a reference from one
listed folder to a generated name in another (the slices keep such
folders together only by chance: this is what a split cannot do).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from shipyard.render import shared
from shipyard.render.deps import read_kustomization, resolve
from shipyard.render.kustomize import kustomization_file

MIN_FOLDERS = 40
"""Below this many folders one build is as fast (a kustomize start costs
about a tenth of a second)."""
SLICE = 25
_ALLOWED_KEYS = {"apiVersion", "kind", "metadata", "resources"}

ORDER_FIRST = ("Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
               "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret",
               "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume", "PersistentVolumeClaim",
               "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget")
ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_TYPE_ORDER = {**{k: i - len(ORDER_FIRST) for i, k in enumerate(ORDER_FIRST)},
               **{k: 1 + i for i, k in enumerate(ORDER_LAST)}}


def parts(folder: Path, repo_root: Path) -> list[list[str]] | None:
    """Slices of the folders the kustomization at ``folder`` lists
    (repository-relative), or None when it must be built whole."""
    if not shared.enabled():
        return None
    kfile = kustomization_file(folder)
    if kfile is None:
        return None
    data = read_kustomization(kfile)
    if set(data) - _ALLOWED_KEYS or data.get("kind", "Kustomization") != "Kustomization":
        return None
    resources = data.get("resources")
    if not isinstance(resources, list) or len(resources) < MIN_FOLDERS:
        return None
    root = repo_root.resolve()
    folders: list[str] = []
    for ref in resources:
        if not isinstance(ref, str):
            return None
        literal = Path(os.path.normpath(folder / ref))
        target = resolve(folder / ref)
        if target is None or target != literal or not target.is_relative_to(root) or not target.is_dir():
            return None
        sub = kustomization_file(target)
        if sub is None or read_kustomization(sub).get("kind", "Kustomization") != "Kustomization":
            return None
        folders.append(target.relative_to(root).as_posix())
    if len(set(folders)) != len(folders):
        return None
    return [folders[i:i + SLICE] for i in range(0, len(folders), SLICE)]


def write_wrapper(into: Path, folders: list[Path]) -> None:
    """A kustomization at ``into`` listing ``folders`` (relative paths:
    kustomize refuses absolute ones)."""
    lines = "".join(f"- {os.path.relpath(f, into)}\n" for f in folders)
    (into / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" f"resources:\n{lines}", encoding="utf-8")


def _gvk(body: dict[str, Any]) -> tuple[str, str, str]:
    api = str(body.get("apiVersion") or "")
    group, _, version = api.rpartition("/")
    return group, version, str(body.get("kind") or "")


def _gvk_string(gvk: tuple[str, str, str]) -> str:
    group, version, kind = gvk
    return "_".join((group or "~G", version or "~V", kind or "~K"))


def _id_string(body: dict[str, Any], gvk: tuple[str, str, str]) -> str:
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    namespace = str((meta or {}).get("namespace") or "") or "~X"
    name = str((meta or {}).get("name") or "") or "~N"
    return "|".join((_gvk_string(gvk), namespace, name))


def _less(a: dict[str, Any], b: dict[str, Any]) -> int:
    ga, gb = _gvk(a), _gvk(b)
    if ga != gb:
        ia, ib = _TYPE_ORDER.get(ga[2], 0), _TYPE_ORDER.get(gb[2], 0)
        if ia != ib:
            return -1 if ia < ib else 1
        sa, sb = _gvk_string(ga), _gvk_string(gb)
        if ga[2] == "Namespace" and gb[2] == "Namespace" and (ga[0] == "" or gb[0] == ""):
            return -1 if sa > sb else (1 if sa < sb else 0)
        return -1 if sa < sb else (1 if sa > sb else 0)
    ia_s, ib_s = _id_string(a, ga), _id_string(b, gb)
    return -1 if ia_s < ib_s else (1 if ia_s > ib_s else 0)


def object_id(body: dict[str, Any]) -> tuple[str, str, str, str]:
    group, _version, kind = _gvk(body)
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    return group, kind, str((meta or {}).get("namespace") or ""), str((meta or {}).get("name") or "")


Record = tuple[dict[str, Any], str, int, bool]


def merge(slices: list[list[Record]], generated: list[frozenset[int]]) -> tuple[list[Record], frozenset[int]] | None:
    """The union of the slices' records in kustomize's order, with the
    indices of generated objects; None when two slices hold one id."""
    tagged = [(record, index in gen) for records, gen in zip(slices, generated) for index, record in enumerate(records)]
    ids = [object_id(record[0]) for record, _gen in tagged]
    if len(set(ids)) != len(ids):
        return None
    def compare(x: tuple[Record, bool], y: tuple[Record, bool]) -> int:
        return _less(x[0][0], y[0][0])

    tagged.sort(key=functools.cmp_to_key(compare))
    return [record for record, _gen in tagged], frozenset(i for i, (_record, gen) in enumerate(tagged) if gen)
