"""Strict schemas for the Training Operator's jobs and Katib's Experiment,
built from their upstream Go API types.

The CRDs these operators install say less than their Go types: Katib's
Experiment CRD preserves unknown fields at its root (``maxTrialCountt``
passes the API server, and the typo is silently dropped by the
controller's decoder), and the Training Operator's CRDs type
``restartPolicy`` as any string, though the controller copies it into the
pods it creates, where only the RestartPolicy constants are valid. The Go
types are what the controllers decode; a field they do not declare is lost
and a value outside a typed string's constants is one no code path handles.

Two steps, so that each can be checked on its own:

1. ``extract``: read the Go files (``type X struct``, named string types
   and their typed constants, ``json`` tags, kubebuilder markers) into a
   *type model*, plain data committed as ``data/strict-schemas/go-types.json`` with the
   repository, tag, commit, path and git blob of every Go file. This needs
   the upstream sources (``shipyard.schemas.go_types extract``).
2. ``build``: turn the type model into one CRD-shaped JSON file per kind
   (``data/strict-schemas/<plural>.<group>.json``), with the Kubernetes types those Go
   types embed (PodTemplateSpec, Container, MetricSpec, ...) taken from the
   Training Operator's own CRD at the pinned tag, as controller-gen
   rendered them from k8s.io/api. This needs only the offline mirror.

What the schema says, field by field: a field is required when its json
tag has no ``omitempty`` and it is not marked ``+optional`` or
``+kubebuilder:validation:Optional`` (controller-gen's rule); a named
string type with typed constants in its package is an enum of them, plus
"" for an ``omitempty`` field (the zero value: decoded as "not set", which
the defaulters fill in); ``+kubebuilder:validation:Enum/Minimum/Maximum``
are kept. ``status`` is written by the controllers, not by manifests: its
schema preserves unknown fields. ``+listType`` markers and CEL
``XValidation`` rules are not emitted (the installed CRDs do not declare
them either: Katib's declares nothing, and the only rule in the Training
Operator's, ``queue`` immutable, is a transition rule that needs the old
object).

``python -m shipyard.schemas.go_types extract --trainer GIT --katib GIT``
rewrites go-types.json from the bare repositories (kubeflow/trainer, the
former kubeflow/training-operator, and kubeflow/katib); ``build`` rewrites
the schemas from go-types.json and the mirror (``SHIPYARD_MIRROR``).
tests/unit/test_training_strict_schemas.py fails when either is stale.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shipyard.errors import ShipyardError
from shipyard.schemas.crds import strip_descriptions

STRICT_DIR = Path(__file__).resolve().parent.parent / "data" / "strict-schemas"
TYPE_MODEL = "go-types.json"
PROVENANCE = "PROVENANCE.json"


@dataclass(frozen=True)
class GoSource:
    """One upstream Go package: the files its types are read from."""

    key: str  # the package's import path
    repo: str  # owner/name on GitHub
    tag: str
    commit: str
    files: tuple[str, ...]


TRAINER = "kubeflow/trainer"
KATIB = "kubeflow/katib"
TRAINER_TAG, TRAINER_COMMIT = "v1.9.4", "4445c12aa62e4345b0c2c6ac9b215a70eca46ed7"
KATIB_TAG, KATIB_COMMIT = "v0.19.0", "578e60f1ce83dbb5e7151026a3bdc4de233947fc"
TRAINER_PKG = "github.com/kubeflow/training-operator/pkg/apis/kubeflow.org/v1"
KATIB_EXPERIMENTS_PKG = "github.com/kubeflow/katib/pkg/apis/controller/experiments/v1beta1"
KATIB_COMMON_PKG = "github.com/kubeflow/katib/pkg/apis/controller/common/v1beta1"

SOURCES: tuple[GoSource, ...] = (
    GoSource(TRAINER_PKG, TRAINER, TRAINER_TAG, TRAINER_COMMIT, tuple(
        f"pkg/apis/kubeflow.org/v1/{name}_types.go"
        for name in ("common", "pytorch", "xgboost", "tensorflow", "mpi", "paddlepaddle", "jax"))),
    GoSource(KATIB_COMMON_PKG, KATIB, KATIB_TAG, KATIB_COMMIT, ("pkg/apis/controller/common/v1beta1/common_types.go",)),
    GoSource(KATIB_EXPERIMENTS_PKG, KATIB, KATIB_TAG, KATIB_COMMIT,
             ("pkg/apis/controller/experiments/v1beta1/experiment_types.go",)),
)


@dataclass(frozen=True)
class Kind:
    """One kind to build: its root Go type and its CRD names."""

    package: str
    root: str
    group: str
    version: str
    plural: str


KINDS: tuple[Kind, ...] = (
    Kind(TRAINER_PKG, "PyTorchJob", "kubeflow.org", "v1", "pytorchjobs"),
    Kind(TRAINER_PKG, "XGBoostJob", "kubeflow.org", "v1", "xgboostjobs"),
    Kind(TRAINER_PKG, "TFJob", "kubeflow.org", "v1", "tfjobs"),
    Kind(TRAINER_PKG, "MPIJob", "kubeflow.org", "v1", "mpijobs"),
    Kind(TRAINER_PKG, "PaddleJob", "kubeflow.org", "v1", "paddlejobs"),
    Kind(TRAINER_PKG, "JAXJob", "kubeflow.org", "v1", "jaxjobs"),
    Kind(KATIB_EXPERIMENTS_PKG, "Experiment", "kubeflow.org", "v1beta1", "experiments"),
)

# The Kubernetes types the Go types embed, as controller-gen rendered them
# into the Training Operator's PyTorchJob CRD at the pinned tag (JSON
# pointers into its openAPIV3Schema), or written out where they are scalars.
EXTERNAL_CRD = "manifests/base/crds/kubeflow.org_pytorchjobs.yaml"
_REPLICA = ("properties", "spec", "properties", "pytorchReplicaSpecs", "additionalProperties", "properties")
_TEMPLATE = (*_REPLICA, "template")
_CONTAINER = (*_TEMPLATE, "properties", "spec", "properties", "containers", "items")
EXTERNAL_POINTERS: dict[str, tuple[str, ...]] = {
    "k8s.io/api/core/v1.PodTemplateSpec": _TEMPLATE,
    "k8s.io/api/core/v1.Container": _CONTAINER,
    "k8s.io/api/core/v1.HTTPGetAction": (*_CONTAINER, "properties", "livenessProbe", "properties", "httpGet"),
    "k8s.io/api/autoscaling/v2.MetricSpec": (
        "properties", "spec", "properties", "elasticPolicy", "properties", "metrics", "items"),
}
EXTERNAL_SCALARS: dict[str, dict[str, Any]] = {
    "k8s.io/apimachinery/pkg/apis/meta/v1.Time": {"type": "string", "format": "date-time"},
    "k8s.io/apimachinery/pkg/apis/meta/v1.ObjectMeta": {"type": "object"},
    "k8s.io/apimachinery/pkg/api/resource.Quantity": {
        "anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
    "k8s.io/apimachinery/pkg/util/intstr.IntOrString": {
        "anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
    "k8s.io/api/core/v1.ConditionStatus": {"type": "string"},
    "k8s.io/api/core/v1.ResourceName": {"type": "string"},
    # A trial template is any kind: Katib substitutes and creates it as is.
    "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured.Unstructured": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True},
}
SKIPPED_EMBEDS = frozenset({"k8s.io/apimachinery/pkg/apis/meta/v1.TypeMeta"})

_BUILTINS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "bool": {"type": "boolean"},
    **{t: {"type": "integer"} for t in ("int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16",
                                          "uint32", "uint64")},
    "float32": {"type": "number"},
    "float64": {"type": "number"},
}


# --- step 1: Go source -> type model -------------------------------------

_IMPORT = re.compile(r'^\s*(?:([A-Za-z_][A-Za-z0-9_]*)\s+)?"([^"]+)"\s*$')
_TYPE_STRUCT = re.compile(r"^type\s+([A-Z][A-Za-z0-9_]*)\s+struct\s*\{\s*$")
_TYPE_NAMED = re.compile(r"^type\s+([A-Z][A-Za-z0-9_]*)\s+([A-Za-z0-9_.]+)\s*$")
_CONST = re.compile(r'^\s*[A-Za-z_][A-Za-z0-9_]*\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')
_FIELD = re.compile(r"^\s*(?:([A-Za-z_][A-Za-z0-9_]*)\s+)?([^\s`]+)\s*`([^`]*)`\s*(?://.*)?$")
_JSON_TAG = re.compile(r'json:"([^"]*)"')
_MARKER = re.compile(r"^\s*//\s*\+(.*\S)\s*$")


def parse_go(text: str, path: str) -> dict[str, Any]:
    """The type declarations of one Go file: imports, structs (fields with
    json names, Go types, required-ness and markers), named types and the
    string constants of each named type."""
    imports: dict[str, str] = {}
    structs: dict[str, list[dict[str, Any]]] = {}
    named: dict[str, str] = {}
    consts: dict[str, list[str]] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("import ("):
            i += 1
            while i < len(lines) and lines[i].strip() != ")":
                match = _IMPORT.match(lines[i])
                if match:
                    alias = match.group(1) or match.group(2).rsplit("/", 1)[-1]
                    imports[alias] = match.group(2)
                i += 1
        elif stripped.startswith("const ("):
            i += 1
            while i < len(lines) and lines[i].strip() != ")":
                match = _CONST.match(lines[i])
                if match:
                    consts.setdefault(match.group(1), []).append(json.loads(f'"{match.group(2)}"'))
                i += 1
        elif (struct := _TYPE_STRUCT.match(line)) is not None:
            fields: list[dict[str, Any]] = []
            field_markers: list[str] = []
            i += 1
            while i < len(lines) and lines[i].rstrip() != "}":
                body = lines[i]
                marker = _MARKER.match(body)
                if marker:
                    field_markers.append(marker.group(1))
                elif body.strip() and not body.strip().startswith("//"):
                    parsed = _FIELD.match(body)
                    if parsed is None:
                        raise ShipyardError(f"{path}:{i + 1}: cannot read the struct field {body.strip()!r}",
                                            hint="extend shipyard.schemas.go_types.parse_go")
                    fields.append(_field(parsed, field_markers))
                    field_markers = []
                i += 1
            structs[struct.group(1)] = fields
        elif (alias := _TYPE_NAMED.match(line)) is not None:
            named[alias.group(1)] = alias.group(2)
        i += 1
    return {"imports": imports, "structs": structs, "named": named, "consts": consts}


def _field(match: re.Match[str], markers: list[str]) -> dict[str, Any]:
    name, go_type, tags = match.group(1), match.group(2), match.group(3)
    tag = _JSON_TAG.search(tags)
    json_name, _, options = (tag.group(1) if tag else (name or "")).partition(",")
    if name is None and not tag:
        json_name = ""
    inline = "inline" in options.split(",") or (name is None and not json_name)
    optional = any(m in ("optional", "kubebuilder:validation:Optional") for m in markers)
    out: dict[str, Any] = {
        "json": json_name,
        "type": go_type,
        "inline": inline,
        "omitempty": "omitempty" in options.split(","),
        "required": not inline and "omitempty" not in options.split(",") and not optional,
    }
    for marker in markers:
        key, _, value = marker.partition("=")
        if key == "kubebuilder:validation:Enum":
            out["enum"] = value.split(";")
        elif key in ("kubebuilder:validation:Minimum", "kubebuilder:validation:Maximum"):
            out[key.rsplit(":", 1)[1].lower()] = json.loads(value)
    return out


def git_blob_id(data: bytes) -> str:
    """The id ``git hash-object`` gives these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _git_show(git_dir: Path, commit: str, path: str) -> bytes:
    try:
        done = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
                              capture_output=True, check=False)
    except OSError as exc:
        raise ShipyardError(f"cannot run git: {exc}") from None
    if done.returncode != 0:
        raise ShipyardError(f"{git_dir}: no {path} at {commit}: {done.stderr.decode(errors='replace').strip()}",
                            hint="pass the upstream repository's git directory (it must hold the pinned commit)")
    return done.stdout


def extract(git_dirs: dict[str, Path]) -> dict[str, Any]:
    """The type model of every package in SOURCES, read at its pinned
    commit from ``git_dirs`` (repository -> git directory)."""
    packages: dict[str, Any] = {}
    for source in SOURCES:
        merged: dict[str, Any] = {"imports": {}, "structs": {}, "named": {}, "consts": {}, "files": []}
        for path in source.files:
            data = _git_show(git_dirs[source.repo], source.commit, path)
            parsed = parse_go(data.decode("utf-8"), path)
            for key in ("imports", "structs", "named"):
                merged[key].update(parsed[key])
            for type_name, values in parsed["consts"].items():
                merged["consts"].setdefault(type_name, []).extend(values)
            merged["files"].append({"repo": source.repo, "tag": source.tag, "commit": source.commit,
                                    "path": path, "blob": git_blob_id(data)})
        packages[source.key] = merged
    return {"packages": packages}


# --- step 2: type model -> schemas -----------------------------------------

class _Builder:
    def __init__(self, model: dict[str, Any], externals: dict[str, dict[str, Any]]) -> None:
        self.packages: dict[str, Any] = model["packages"]
        self.externals = externals

    def struct(self, package: str, name: str, trail: tuple[str, ...] = (), *, skip: frozenset[str] = frozenset()
               ) -> dict[str, Any]:
        if name in trail:
            raise ShipyardError(f"{package}.{name}: a recursive type cannot be written as a structural schema")
        fields = self.packages[package]["structs"][name]
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in fields:
            if field["inline"]:
                target = self.qualified(package, field["type"])
                if target in SKIPPED_EMBEDS:
                    continue
                pkg, _, inner = target.rpartition(".")
                embedded = self.struct(pkg, inner, (*trail, name))
                properties.update(embedded.get("properties", {}))
                required.extend(embedded.get("required", []))
                continue
            if field["json"] in ("", "-") or field["json"] in skip:
                continue
            schema = self.field(package, field, (*trail, name))
            properties[field["json"]] = schema
            if field["required"]:
                required.append(field["json"])
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = sorted(required)
        return out

    def field(self, package: str, field: dict[str, Any], trail: tuple[str, ...]) -> dict[str, Any]:
        schema = self.type(package, field["type"], trail)
        if "enum" in field:
            schema = {**schema, "enum": list(field["enum"])}
        for bound in ("minimum", "maximum"):
            if bound in field:
                schema = {**schema, bound: field[bound]}
        if field["omitempty"] and "enum" in schema and schema.get("type") == "string" and "" not in schema["enum"]:
            schema = {**schema, "enum": [*schema["enum"], ""]}
        return schema

    def qualified(self, package: str, go_type: str) -> str:
        go_type = go_type.lstrip("*")
        if "." in go_type:
            alias, _, name = go_type.partition(".")
            imports = self.packages[package]["imports"]
            if alias not in imports:
                raise ShipyardError(f"{package}: {go_type}: the package {alias!r} is not imported")
            return f"{imports[alias]}.{name}"
        return f"{package}.{go_type}"

    def type(self, package: str, go_type: str, trail: tuple[str, ...]) -> dict[str, Any]:
        go_type = go_type.lstrip("*")
        if go_type.startswith("[]"):
            return {"type": "array", "items": self.type(package, go_type[2:], trail)}
        if go_type.startswith("map["):
            depth, end = 0, 0
            for end, char in enumerate(go_type):
                depth += char == "["
                depth -= char == "]"
                if depth == 0 and char == "]":
                    break
            return {"type": "object", "additionalProperties": self.type(package, go_type[end + 1:], trail)}
        if go_type in _BUILTINS:
            return dict(_BUILTINS[go_type])
        target = self.qualified(package, go_type)
        pkg, _, name = target.rpartition(".")
        if pkg in self.packages:
            model = self.packages[pkg]
            if name in model["structs"]:
                return self.struct(pkg, name, trail)
            if name in model["named"]:
                schema = self.type(pkg, model["named"][name], trail)
                values = model["consts"].get(name)
                if values and schema.get("type") == "string":
                    schema["enum"] = list(dict.fromkeys(values))
                return schema
            raise ShipyardError(f"{target}: no such type in the type model")
        if target in EXTERNAL_SCALARS:
            return json.loads(json.dumps(EXTERNAL_SCALARS[target]))
        if target in self.externals:
            return self.externals[target]
        raise ShipyardError(f"{target}: no schema for this Kubernetes type",
                            hint="add it to EXTERNAL_POINTERS or EXTERNAL_SCALARS in shipyard/schemas/go_types.py")

    def root(self, kind: Kind) -> dict[str, Any]:
        schema = self.struct(kind.package, kind.root, skip=frozenset({"metadata", "status"}))
        properties = schema["properties"]
        properties["apiVersion"] = {"type": "string"}
        properties["kind"] = {"type": "string"}
        properties["metadata"] = {"type": "object"}
        properties["status"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        schema.pop("required", None)
        return schema


def externals_from_crd(crd_text: str) -> dict[str, dict[str, Any]]:
    """The embedded Kubernetes types, cut out of the Training Operator's CRD."""
    body = yaml.load(crd_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    root = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    out: dict[str, dict[str, Any]] = {}
    for name, pointer in EXTERNAL_POINTERS.items():
        node: Any = root
        for key in pointer:
            node = node[key]
        out[name] = strip_descriptions(node)
    return out


def build(model: dict[str, Any], crd_text: str, crd_blob: str) -> dict[str, str]:
    """Every output file (name -> text) for the type model."""
    builder = _Builder(model, externals_from_crd(crd_text))
    outputs: dict[str, str] = {}
    files = []
    for kind in KINDS:
        name = f"{kind.plural}.{kind.group}.json"
        sources = model["packages"][kind.package]["files"]
        go_files = [f for pkg in _packages_used(model, kind.package) for f in model["packages"][pkg]["files"]]
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{kind.plural}.{kind.group}"},
            "spec": {
                "group": kind.group,
                "names": {"kind": kind.root, "plural": kind.plural},
                "scope": "Namespaced",
                "versions": [{"name": kind.version, "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": builder.root(kind)}}],
            },
        }
        outputs[name] = json.dumps({"crd": crd}, separators=(",", ":"), sort_keys=True) + "\n"
        files.append({
            "schema": name,
            "kind": kind.root,
            "apiVersion": f"{kind.group}/{kind.version}",
            "upstream": sources[0]["repo"],
            "tag": sources[0]["tag"],
            "commit": sources[0]["commit"],
            "go_files": [{"path": f["path"], "blob": f["blob"], "repo": f["repo"]} for f in go_files],
            "kubernetes_types_from": {"repo": TRAINER, "tag": TRAINER_TAG, "path": EXTERNAL_CRD, "blob": crd_blob},
        })
    outputs[PROVENANCE] = json.dumps({
        "license": "Apache-2.0",
        "generator": "tools/shipyard/schemas/go_types.py",
        "files": files,
    }, indent=2, sort_keys=True) + "\n"
    return outputs


def _packages_used(model: dict[str, Any], package: str) -> list[str]:
    found = [package]
    for target in model["packages"][package]["imports"].values():
        if target in model["packages"] and target not in found:
            found.append(target)
    return found


def mirror_crd(mirror: Path) -> tuple[str, str]:
    """The Training Operator's PyTorchJob CRD at the pinned tag, from the
    offline mirror's bare repository, and its git blob id."""
    git_dir = mirror / "git" / "kubeflow" / "training-operator.git"
    if not git_dir.exists():
        raise ShipyardError(f"{git_dir}: no such repository", hint="point SHIPYARD_MIRROR at a folder like ../shared/mirror")
    data = _git_show(git_dir, TRAINER_TAG, EXTERNAL_CRD)
    return data.decode("utf-8"), git_blob_id(data)


def read_model(folder: Path = STRICT_DIR) -> dict[str, Any]:
    path = folder / TYPE_MODEL
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ShipyardError(f"{path}: cannot read the type model: {exc}",
                            hint="run python -m shipyard.schemas.go_types extract") from None
    return data


def model_text(model: dict[str, Any]) -> str:
    return json.dumps(model, indent=1, sort_keys=True) + "\n"


def write_files(outputs: dict[str, str], folder: Path = STRICT_DIR) -> None:
    """Write every file beside its final name, then rename: never half a set."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for name, text in outputs.items():
            handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(tmp, 0o644)
            staged.append((tmp, folder / name))
    except OSError as exc:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise ShipyardError(f"cannot write {folder}: {exc}") from None
    for tmp, final in staged:
        os.replace(tmp, final)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shipyard.schemas.go_types", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ext = sub.add_parser("extract", help="rewrite go-types.json from the upstream git repositories")
    ext.add_argument("--trainer", type=Path, required=True, help="git directory of kubeflow/trainer")
    ext.add_argument("--katib", type=Path, required=True, help="git directory of kubeflow/katib")
    sub.add_parser("build", help="rewrite the strict schemas from go-types.json and the mirror")
    args = parser.parse_args(argv)
    try:
        if args.command == "extract":
            write_files({TYPE_MODEL: model_text(extract({TRAINER: args.trainer, KATIB: args.katib}))})
        mirror = os.environ.get("SHIPYARD_MIRROR")
        if not mirror:
            raise ShipyardError("SHIPYARD_MIRROR is not set", hint="export SHIPYARD_MIRROR=/abs/path/to/shared/mirror")
        text, blob = mirror_crd(Path(mirror))
        write_files(build(read_model(), text, blob))
    except ShipyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
