"""A plan: what one lifecycle command will change, computed in full before
anything is written, and the outcome once it is applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from shipyard.repo import Repository

Rendered = dict[Path, list[dict[str, Any]]]
Verify = Callable[[Repository, Rendered], None]

@dataclass
class Plan:
    """What one command will change, computed before anything is written."""

    action: str  # register | sync | promote | canary | finish | abort | rollback
    model: str
    title: str
    branch: str
    files: dict[Path, str]
    sections: list[str] = field(default_factory=list)  # markdown, before the rendered summary
    render: list[Path] = field(default_factory=list)  # folders rendered before and after
    verify: Verify | None = None
    environment: str | None = None
    warnings: list[str] = field(default_factory=list)
    noop: str = "nothing to change"


@dataclass
class GitOptions:
    commit: bool = True  # False: only edit files
    new_branch: bool = True  # False: commit on the current branch
    branch: str | None = None  # overrides the plan's branch name


@dataclass
class Outcome:
    plan: Plan
    changed: list[str]  # repository-relative paths written
    title: str
    body: str
    branch: str | None = None
    commit: str | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.plan.action,
            "model": self.plan.model,
            "environment": self.plan.environment,
            "title": self.title,
            "body": self.body,
            "branch": self.branch,
            "commit": self.commit,
            "changed": self.changed,
            "warnings": self.plan.warnings,
            "note": self.note,
        }
