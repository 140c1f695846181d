"""Defaults of the key fields of Kubernetes' own list-type maps.

A built-in list declared ``x-kubernetes-list-type: map`` is keyed by its
``x-kubernetes-list-map-keys``, and a key field the manifest leaves out
counts with its default: two container ports 8080 without ``protocol`` are
both 8080/TCP, the same key, and server-side apply (which Flux uses) refuses
the object. kubernetes-validate's schema sets keep the list types and key
names but not the defaults, so SY108 needs those from elsewhere; this module
reads them from ``shipyard/data/list-map-key-defaults.json``.

That file is generated, never edited by hand. The defaults are the
``+default=`` markers on the key fields in k8s.io/api's ``types.go`` at the
pinned tag: the markers Kubernetes' openapi-gen turns into the ``default``
of those fields in ``api/openapi-spec/v3``. Which fields are keys comes from
the list-map declarations of the shipped schema sets, so the table holds only
key fields. Regenerate it when the pinned Kubernetes version moves::

    git clone --bare https://github.com/kubernetes/api /tmp/k8s-api
    python -m shipyard.schemas.list_key_defaults --api-repo /tmp/k8s-api --tag v0.34.5

(``v0.34.5`` of k8s.io/api is Kubernetes v1.34.5, the kubectl this repository
pins.) ``tests/unit/test_structural_schema.py`` checks, cheaply, that every
entry still names a list-map key field of the shipped schemas.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

DATA_FILE = "list-map-key-defaults.json"
_API_PREFIX = "io.k8s.api."


@lru_cache(maxsize=1)
def key_defaults() -> dict[str, dict[str, Any]]:
    """Definition name (``io.k8s.api.core.v1.ContainerPort``) -> {key field:
    its default}. Empty when the data file is missing or unreadable: list
    keys are then compared as written."""
    try:
        text = resources.files("shipyard").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}
    table = data.get("defaults") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        return {}
    return {
        name: dict(fields) for name, fields in table.items() if isinstance(name, str) and isinstance(fields, dict)
    }


# --------------------------------------------------------------------------
# The generator.


def list_map_keys(definitions: dict[str, Any]) -> dict[str, set[str]]:
    """Item definition -> the key fields some list-type map keys it by, from
    a schema set's ``$defs`` (kubernetes-validate's ``_definitions.json``)."""
    out: dict[str, set[str]] = {}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("x-kubernetes-list-type") == "map":
                keys = node.get("x-kubernetes-list-map-keys")
                items = node.get("items")
                ref = items.get("$ref") if isinstance(items, dict) else None
                if isinstance(ref, str) and isinstance(keys, list):
                    out.setdefault(ref.rsplit("/", 1)[-1], set()).update(k for k in keys if isinstance(k, str))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(definitions)
    return out


_STRUCT = re.compile(r"^type (\w+) struct \{\s*$")
_FIELD = re.compile(r'^\s*\w+\s+[^`]*`[^`]*json:"([^,"]*)')
_DEFAULT = re.compile(r"^\s*//\s*\+default=(.+?)\s*$")
_CONST = re.compile(r'^\s*(\w+)\s+\w+\s*=\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*(?://.*)?$')


def go_defaults(sources: Iterator[str]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(struct -> {json field: default}, constant -> value) from the Go
    files of one API package. ``+default=`` takes JSON or ``ref(Constant)``."""
    structs: dict[str, dict[str, Any]] = {}
    consts: dict[str, Any] = {}
    for text in sources:
        current: str | None = None
        pending: Any = None
        has_pending = False
        for line in text.splitlines():
            const = _CONST.match(line)
            if const and current is None:
                consts[const.group(1)] = _go_literal(const.group(2))
            match = _STRUCT.match(line)
            if match:
                current, has_pending = match.group(1), False
                continue
            if current is None:
                continue
            if line.startswith("}"):
                current, has_pending = None, False
                continue
            marker = _DEFAULT.match(line)
            if marker:
                pending, has_pending = marker.group(1), True
                continue
            if line.strip().startswith("//") or not line.strip():
                continue
            field = _FIELD.match(line)
            if field and has_pending and field.group(1):
                structs.setdefault(current, {})[field.group(1)] = pending
            has_pending = False
    return structs, consts


def _go_literal(text: str) -> Any:
    """A Go string or integer constant (``"TCP"``, ``420``, octal ``0644``)."""
    if text.startswith('"'):
        return json.loads(text)
    digits = text.lstrip("-")
    value = int(digits, 8) if len(digits) > 1 and digits.startswith("0") else int(digits)
    return -value if text.startswith("-") else value


def _value(marker: str, consts: dict[str, Any]) -> Any:
    ref = re.fullmatch(r"ref\((\w+)\)", marker)
    if ref:
        if ref.group(1) not in consts:
            raise ValueError(f"+default={marker}: constant {ref.group(1)} not found")
        return consts[ref.group(1)]
    return json.loads(marker)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def generate(api_repo: Path, tag: str, definitions: dict[str, Any], schema_set: str) -> dict[str, Any]:
    """The data file's content: the defaults of every list-map key field
    of a k8s.io/api type, read at ``tag`` of a clone of k8s.io/api."""
    commit = _git(api_repo, "rev-parse", f"{tag}^{{commit}}").strip()
    keys = list_map_keys(definitions)
    by_package: dict[str, list[str]] = {}
    for name in keys:
        if name.startswith(_API_PREFIX):
            package = "/".join(name[len(_API_PREFIX):].split(".")[:-1])
            by_package.setdefault(package, []).append(name)
    table: dict[str, dict[str, Any]] = {}
    for package, names in sorted(by_package.items()):
        files = [p for p in _git(api_repo, "ls-tree", "--name-only", f"{tag}:{package}").split() if p.endswith(".go")]
        structs, consts = go_defaults(_git(api_repo, "show", f"{tag}:{package}/{f}") for f in files
                                      if not f.endswith("_test.go") and not f.startswith("zz_generated"))
        for name in sorted(names):
            defaults = structs.get(name.rsplit(".", 1)[-1], {})
            found = {k: _value(defaults[k], consts) for k in sorted(keys[name]) if k in defaults}
            if found:
                table[name] = found
    return {
        "about": "Defaults of the key fields of Kubernetes' list-type maps (SY108). Generated by"
                 " `python -m shipyard.schemas.list_key_defaults`; do not edit.",
        "source": {
            "repository": "kubernetes/api",
            "tag": tag,
            "commit": commit,
            "from": "+default= markers of the key fields in <group>/<version>/*.go (what openapi-gen writes"
                    " as `default` in Kubernetes' api/openapi-spec/v3)",
            "keys_from": f"x-kubernetes-list-map-keys in kubernetes-validate's {schema_set}/_definitions.json",
        },
        "defaults": table,
    }


def main(argv: list[str] | None = None) -> int:
    from shipyard.schemas.kubernetes import choose_version, schema_root

    parser = argparse.ArgumentParser(description="Regenerate shipyard/data/" + DATA_FILE)
    parser.add_argument("--api-repo", type=Path, required=True, help="a clone (bare is fine) of kubernetes/api")
    parser.add_argument("--tag", required=True, help="k8s.io/api tag, v0.<minor>.<patch> for Kubernetes v1.<minor>.<patch>")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent.parent / "data" / DATA_FILE)
    args = parser.parse_args(argv)
    minor = args.tag.lstrip("v").split(".")[1]
    schema_set = f"v{choose_version('1.' + minor).version}-local-strict"
    definitions = json.loads((schema_root() / schema_set / "_definitions.json").read_text(encoding="utf-8"))
    try:
        data = generate(args.api_repo, args.tag, definitions, schema_set)
    except (subprocess.CalledProcessError, ValueError) as exc:
        print(f"list_key_defaults: {exc}", file=sys.stderr)
        return 1
    args.output.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.output}: {sum(len(v) for v in data['defaults'].values())} key default(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
