"""A problem a model rule found: the one result type of every rule, which
`validate` reports as a finding and a lifecycle command raises as a refusal."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.errors import ShipyardError
from shipyard.ids import CheckId


@dataclass(frozen=True)
class Problem:
    """One thing wrong, under one check id, at a file and line, with the fix."""

    id: CheckId
    file: str
    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"

    def error(self, *, hint: str | None = None) -> ShipyardError:
        """The same problem as the error a command stops with."""
        return ShipyardError(self.message, file=self.file, line=self.line or None, hint=hint or self.hint or None,
                             check=self.id)
