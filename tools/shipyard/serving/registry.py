"""Read a model's registered versions from models/<model>/model.yaml.

Only what serving needs: a version's modelUri and the sha256 recorded for
its artifact, with the file and line they come from so an error can point
at them, and the model's serving implementation and protocol, which decide
the server that runs it (shipyard.serving.runtimes). The file is read by the one model.yaml reader (shipyard.models.spec);
unlike `load_model`, this is deliberately tolerant of fields it does not
use, so a model.yaml with an unrelated schema problem can still be served.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.models.spec import read_model_file
from shipyard.shapes import as_dict


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
    implementation: str | None = None  # spec.serving.implementation (None: not set)
    protocol: str | None = None  # spec.serving.protocol
    image: str | None = None  # spec.serving.image, a custom server
    serving_line: int | None = None  # line of spec.serving, for errors about it


def model_file(root: Path, model: str) -> Path:
    return root / "models" / model / "model.yaml"


def registered_versions(root: Path, model: str) -> list[RegisteredVersion]:
    """Every registered version of ``model`` in file order."""
    path = model_file(root, model)
    rel = f"models/{model}/model.yaml"
    if not path.is_file():
        known = sorted(p.name for p in (root / "models").glob("*") if (p / "model.yaml").is_file()) if (root / "models").is_dir() else []
        raise ShipyardError(f"unknown model {model!r}", file=rel, hint=f"models are: {', '.join(known) or 'none'}")
    doc = read_model_file(path, rel)
    spec = as_dict(doc.data).get("spec")
    versions = spec.get("versions") if isinstance(spec, dict) else None
    if not isinstance(versions, list):
        raise ShipyardError("no spec.versions list", file=rel, hint="register a version with `shipyard register`")
    serving = as_dict(spec.get("serving")) if isinstance(spec, dict) else {}
    serving_line = doc.line(("spec", "serving")) if serving else None

    def text(key: str) -> str | None:
        value = serving.get(key)
        return value if isinstance(value, str) and value else None

    result = []
    for index, entry in enumerate(versions):
        line = doc.line(("spec", "versions", index))
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
                implementation=text("implementation"),
                protocol=text("protocol"),
                image=text("image"),
                serving_line=serving_line,
            )
        )
    return result


def serving_section(root: Path, model: str) -> tuple[str | None, str | None, str | None]:
    """spec.serving's implementation, protocol and image (None where unset);
    for a model that may have no versions yet (publishing its first)."""
    path = model_file(root, model)
    rel = f"models/{model}/model.yaml"
    if not path.is_file():
        return None, None, None
    spec = as_dict(as_dict(read_model_file(path, rel).data).get("spec"))
    serving = as_dict(spec.get("serving"))

    def text(key: str) -> str | None:
        value = serving.get(key)
        return value if isinstance(value, str) and value else None

    return text("implementation"), text("protocol"), text("image")


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
