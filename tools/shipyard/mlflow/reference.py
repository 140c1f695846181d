"""``models:/<name>/<version>`` and ``models:/<name>@<alias>``: MLflow's own
spelling of a registered model version (mlflow/store/artifact/utils/models.py
in mlflow/mlflow), read strictly so a typo is an error, not another version."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard import ids
from shipyard.errors import ShipyardError

_BY_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>[1-9][0-9]{0,17})/?$")
_BY_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[A-Za-z0-9_-]{1,255})/?$")
EXAMPLE = "for example models:/iris/3 or models:/iris@champion"


@dataclass(frozen=True)
class ModelReference:
    """A registered model version, by number or by alias (exactly one)."""

    name: str
    version: str | None = None
    alias: str | None = None

    def __str__(self) -> str:
        return f"models:/{self.name}/{self.version}" if self.version else f"models:/{self.name}@{self.alias}"


def parse_reference(text: str) -> ModelReference:
    """``text`` as a model reference, or a usage error that shows the two forms."""
    value = text.strip()
    match = _BY_VERSION.match(value)
    if match:
        return ModelReference(match["name"], version=match["version"])
    match = _BY_ALIAS.match(value)
    if match:
        return ModelReference(match["name"], alias=match["alias"])
    why = ("a stage (models:/<name>/Production) is not supported: stages are deprecated in MLflow, use an alias"
           if re.match(r"^models:/[^/@]+/[A-Za-z]", value) else "it is not models:/<name>/<version> or models:/<name>@<alias>")
    raise ShipyardError(f"--from-mlflow {text!r}: {why}", check=ids.USAGE, hint=EXAMPLE)
