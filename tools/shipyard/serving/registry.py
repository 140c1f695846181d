"""Read a model's registered versions from models/<model>/model.yaml.

Only what serving needs: a version's modelUri and the sha256 recorded for
its artifact, with the file and line they come from so an error can point
at them. The schema itself belongs to the model lifecycle code; this reader
is deliberately tolerant of fields it does not use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shipyard.errors import ShipyardError
from shipyard.load import load_documents


@dataclass(frozen=True)
class RegisteredVersion:
    """One entry of spec.versions in a model.yaml."""

    model: str
    version: str
    model_uri: str
    sha256: str | None
    file: str
    line: int
    metrics: dict[str, Any] = field(default_factory=dict)


def model_file(root: Path, model: str) -> Path:
    return root / "models" / model / "model.yaml"


def registered_versions(root: Path, model: str) -> list[RegisteredVersion]:
    """Every registered version of ``model`` in file order."""
    path = model_file(root, model)
    rel = f"models/{model}/model.yaml"
    if not path.is_file():
        known = sorted(p.name for p in (root / "models").glob("*") if (p / "model.yaml").is_file()) if (root / "models").is_dir() else []
        raise ShipyardError(f"unknown model {model!r}", file=rel, hint=f"models are: {', '.join(known) or 'none'}")
    try:
        text = path.read_text(encoding="utf-8")
        load_documents(text, rel)  # bounded first: bombs and deep nesting are refused, not composed
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ShipyardError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=rel, line=(mark.line + 1) if mark else None) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShipyardError(f"cannot read file: {exc}", file=rel) from None
    spec = data.get("spec") if isinstance(data, dict) else None
    versions = spec.get("versions") if isinstance(spec, dict) else None
    if not isinstance(versions, list):
        raise ShipyardError("no spec.versions list", file=rel, hint="register a version with `shipyard register`")
    lines = _version_lines(node)
    result = []
    for index, entry in enumerate(versions):
        line = lines[index] if index < len(lines) else 0
        if not isinstance(entry, dict) or not entry.get("version"):
            raise ShipyardError("a version entry has no `version`", file=rel, line=line)
        digest = entry.get("sha256")
        metrics = entry.get("metrics")
        result.append(
            RegisteredVersion(
                model=model,
                version=str(entry["version"]),
                model_uri=str(entry.get("modelUri") or ""),
                sha256=str(digest).lower() if digest else None,
                file=rel,
                line=line,
                metrics=metrics if isinstance(metrics, dict) else {},
            )
        )
    return result


def registered_version(root: Path, model: str, version: str | None = None) -> RegisteredVersion:
    """The entry for ``version``, or the most recently registered one (last in the file)."""
    versions = registered_versions(root, model)
    if not versions:
        raise ShipyardError(f"model {model!r} has no registered versions", file=f"models/{model}/model.yaml", hint="register one with `shipyard register`")
    if version is None:
        return versions[-1]
    for entry in versions:
        if entry.version == version:
            return entry
    known = ", ".join(v.version for v in versions)
    raise ShipyardError(f"model {model!r} has no version {version!r}", file=f"models/{model}/model.yaml", hint=f"registered versions: {known}")


def _version_lines(node: yaml.Node | None) -> list[int]:
    """1-based line of each item of spec.versions, from the composed node tree."""
    spec = _child(node, "spec")
    versions = _child(spec, "versions")
    if isinstance(versions, yaml.SequenceNode):
        return [item.start_mark.line + 1 for item in versions.value]
    return []


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None
