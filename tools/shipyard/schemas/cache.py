"""The pinned CRD schema cache: how ``shipyard/data/crd-schemas`` is made.

Some CRDs are used by the repository but installed by something outside it
(Flux and Argo CD install their own; prometheus-operator and KFP's v2beta1
API come with platforms). Their schemas are pinned here, generated from
upstream CRD files (the offline mirror's ``crds/`` folder):

- one compact JSON file per CRD, ``<plural>.<group>.json``, holding the CRD
  with descriptions removed (the schemas themselves are unchanged);
- ``PROVENANCE.json``: for every file, the upstream repository, tag, commit
  and path it came from and the git blob id of the source file, so anyone
  can check it byte for byte;
- ``LICENSE`` (Apache License 2.0, which every upstream uses) and
  ``NOTICE.md``.

``update_cache`` regenerates all of it; ``shipyard schemas update --from
DIR`` is the command. The upstream table below is the one place that says
which release each mirror folder holds: change it with the mirror.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.load import load_text, read_text
from shipyard.schemas.crds import CRD_GROUP, strip_descriptions

CACHE_DIR = Path(__file__).resolve().parent.parent / "data" / "crd-schemas"
PROVENANCE = "PROVENANCE.json"


@dataclass(frozen=True)
class Upstream:
    repo: str
    tag: str
    commit: str
    path: str


# Mirror folder -> the upstream release its files are byte-identical to.
UPSTREAMS: dict[str, Upstream] = {
    "flux/source-controller": Upstream(
        "fluxcd/source-controller", "v1.9.1", "092bcff3c9c3f258a44310507201d295ff294ba6", "config/crd/bases/"),
    "flux/kustomize-controller": Upstream(
        "fluxcd/kustomize-controller", "v1.9.4", "1324b615da01038e2859cbcde604bd5434f21933", "config/crd/bases/"),
    "flux/helm-controller": Upstream(
        "fluxcd/helm-controller", "v1.6.3", "372c34e2b4a455d24ef6cbb8321c82c4533dbbd8", "config/crd/bases/"),
    "argo-cd": Upstream(
        "argoproj/argo-cd", "v3.5.1", "109ca7ca71139e514114499d294a492e7910a965", "manifests/crds/"),
    "prometheus-operator": Upstream(
        "prometheus-operator/prometheus-operator", "v0.93.0", "f8fafd475f3d132e239432ae6172de60a6cb6516",
        "example/prometheus-operator-crd/"),
    "kubeflow-pipelines": Upstream(
        "kubeflow/pipelines", "2.17.0", "4a3592cb2dd0a91a4652ab93893ec8beda1f3158", "manifests/kustomize/base/crds/"),
}

NOTICE = """# Pinned CRD schemas

The JSON files in this folder are derived from CustomResourceDefinitions
published by the projects listed in PROVENANCE.json (Flux, Argo CD,
prometheus-operator, Kubeflow Pipelines). Each project licenses them under
the Apache License, Version 2.0; a copy of the license is in LICENSE.

Changes made: the CRDs were converted from YAML to JSON and their
`description`, `example`, `externalDocs` and `title` texts were removed.
Schemas, names, groups and versions are otherwise unchanged. PROVENANCE.json
names the upstream repository, tag, commit, path and git blob id of every
source file.

Regenerate with `shipyard schemas update --from <mirror>/crds`.
"""


def git_blob_id(data: bytes) -> str:
    """The id ``git hash-object`` gives these bytes."""
    import hashlib  # late: it loads OpenSSL (3.7 MB), which checking a file never needs
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class UpdateResult:
    written: list[str]
    removed: list[str]


def update_cache(source: Path, dest: Path = CACHE_DIR) -> UpdateResult:
    """Regenerate the pinned cache in ``dest`` from the CRD files under
    ``source`` (laid out like the mirror's ``crds/``). Nothing in ``dest``
    changes unless every file converts."""
    if not source.is_dir():
        raise ShipyardError(f"{source}: no such folder", hint="pass the mirror's crds/ folder, e.g. ../shared/mirror/crds")
    outputs: dict[str, str] = {}
    files: list[dict[str, Any]] = []
    used: dict[str, Upstream] = {}
    license_text: str | None = None
    for path in sorted(source.rglob("*.yaml")):
        rel = path.relative_to(source).as_posix()
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        upstream = UPSTREAMS.get(folder)
        if upstream is None:
            raise ShipyardError(
                f"{rel}: no upstream release is recorded for folder {folder or '.'!r}",
                file=str(path), hint="add the folder to UPSTREAMS in shipyard/schemas/cache.py",
            )
        data = path.read_bytes()
        loaded = load_text(read_text(path, rel), rel)
        crds = [o for o in loaded.objects if o.kind == "CustomResourceDefinition" and o.group == CRD_GROUP]
        if not crds:
            raise ShipyardError(f"{rel}: no CustomResourceDefinition in the file", file=str(path))
        for crd in crds:
            name = crd.name or f"{crd.body['spec']['names']['plural']}.{crd.body['spec']['group']}"
            schema_file = f"{name}.json"
            body = {
                "apiVersion": crd.api_version,
                "kind": crd.kind,
                "metadata": {"name": name},
                "spec": strip_descriptions(crd.body.get("spec", {})),
            }
            outputs[schema_file] = json.dumps({"crd": body}, separators=(",", ":"), sort_keys=True) + "\n"
            files.append({
                "schema": schema_file,
                "source": rel,
                "blob": git_blob_id(data),
                "upstream": folder,
                "upstream_path": upstream.path + path.name,
            })
        used[folder] = upstream
        license_file = path.parent / "LICENSE"
        if license_text is None and license_file.is_file():
            license_text = license_file.read_text(encoding="utf-8")
    if not files:
        raise ShipyardError(f"{source}: no CRD files (*.yaml) found", hint="pass the mirror's crds/ folder")
    provenance = {
        "license": "Apache-2.0",
        "upstreams": {k: vars(v) for k, v in sorted(used.items())},
        "files": sorted(files, key=lambda f: f["schema"]),
    }
    outputs[PROVENANCE] = json.dumps(provenance, indent=2, sort_keys=True) + "\n"
    outputs["NOTICE.md"] = NOTICE
    if license_text is not None:
        outputs["LICENSE"] = license_text
    return replace_folder(dest, outputs)


def replace_folder(dest: Path, outputs: dict[str, str]) -> UpdateResult:
    """Write every file next to its final name, then rename into place, and
    drop stale schema files: never a half-written cache (the pinned schemas
    here, the repository's CRD index in shipyard.schemas.installed)."""
    dest.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in outputs.items():
            handle, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(tmp_name, 0o644)
            staged.append((Path(tmp_name), dest / name))
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise ShipyardError(f"cannot write {dest}: {exc}") from None
    for tmp, final in staged:
        os.replace(tmp, final)
    removed = []
    for old in dest.glob("*.json"):
        if old.name not in outputs:
            old.unlink()
            removed.append(old.name)
    return UpdateResult(sorted(outputs), sorted(removed))
