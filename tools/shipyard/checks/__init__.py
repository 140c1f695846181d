"""The check registry: every check has an id, a title, a rationale and a fix.

Check families: SY1xx schema and strictness, SY2xx Seldon admission rules,
SY3xx policies, SY4xx cross-references, SY5xx models and promotion gates,
SY9xx environment and bad input.

A check is a function over a `CheckContext` (everything rendered for one
validate run) that yields findings. Checks are independent: each can be run,
tested and waived on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from shipyard.checks.context import CheckContext
    from shipyard.findings import Finding

CheckFn = Callable[["CheckContext"], Iterable["Finding"]]


@dataclass(frozen=True)
class CheckInfo:
    id: str
    title: str
    rationale: str
    hint: str
    run: CheckFn | None = field(default=None, compare=False)


REGISTRY: dict[str, CheckInfo] = {}


def describe(id: str, title: str, rationale: str, hint: str) -> CheckInfo:
    """Register a check id that is reported by code elsewhere (for example
    the loader's duplicate-key finding) so it is listed and documented."""
    info = CheckInfo(id, title, rationale, hint)
    if id in REGISTRY and REGISTRY[id].run is not None:
        return REGISTRY[id]
    REGISTRY[id] = info
    return info


def check(id: str, title: str, rationale: str, hint: str) -> Callable[[CheckFn], CheckFn]:
    """Decorator: register ``fn`` as check ``id``."""

    def wrap(fn: CheckFn) -> CheckFn:
        if id in REGISTRY and REGISTRY[id].run is not None:
            raise ValueError(f"check id {id} registered twice")
        REGISTRY[id] = CheckInfo(id, title, rationale, hint, fn)
        return fn

    return wrap


def load_all() -> dict[str, CheckInfo]:
    """Import every check module so the registry is complete."""
    import importlib
    import pkgutil

    import shipyard.checks as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in {"context"}:
            importlib.import_module(f"shipyard.checks.{mod.name}")
    return REGISTRY
