"""Errors that end a command with exit code 2 and one clear message.

Anything a user can get wrong (bad YAML, a missing file, an unknown chart
version, no mirror, no helm) is raised as a ShipyardError carrying the file,
the line and what to do, so the CLI prints it instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.ids import CheckId


@dataclass
class ShipyardError(Exception):
    """A usage or environment error: the command cannot do its job."""

    message: str
    file: str | None = None
    line: int | None = None
    hint: str | None = None
    check: CheckId = "SY900"

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ToolMissing(ShipyardError):
    """A required binary (helm, kubectl) is not installed or has the wrong version."""


class RenderError(ShipyardError):
    """kustomize or helm refused to render a target."""
