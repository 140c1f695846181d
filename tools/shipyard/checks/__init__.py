"""The check registry: which function reports each check id.

What an id means (title, rationale, fix, family) is data in
``shipyard.ids``; this module only binds ids to the functions that find
them. A check is a function over a `CheckContext` (everything rendered for
one validate run) that yields findings. Checks are independent: each can be
run, tested and waived on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from shipyard.ids import CATALOGUE, CheckId, IdInfo

if TYPE_CHECKING:
    from shipyard.checks.context import CheckContext
    from shipyard.findings import Finding

CheckFn = Callable[["CheckContext"], Iterable["Finding"]]


@dataclass(frozen=True)
class CheckInfo:
    """An id's catalogue entry, and the function that reports it (None for
    ids raised as errors or by code outside the check modules)."""

    info: IdInfo
    run: CheckFn | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def rationale(self) -> str:
        return self.info.rationale

    @property
    def hint(self) -> str:
        return self.info.hint


_RUNS: dict[str, CheckFn] = {}


def check(id: CheckId) -> Callable[[CheckFn], CheckFn]:
    """Decorator: ``fn`` reports check ``id`` (described in shipyard.ids)."""

    def wrap(fn: CheckFn) -> CheckFn:
        if id not in CATALOGUE:
            raise ValueError(f"check id {id} is not in shipyard.ids")
        if id in _RUNS:
            raise ValueError(f"check id {id} registered twice")
        _RUNS[id] = fn
        return fn

    return wrap


def load_all() -> dict[str, CheckInfo]:
    """Every id in the catalogue, with its check function once every check
    module is imported."""
    import importlib
    import pkgutil

    import shipyard.checks as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in {"context"}:
            importlib.import_module(f"shipyard.checks.{mod.name}")
    return {id: CheckInfo(info, _RUNS.get(id)) for id, info in sorted(CATALOGUE.items())}
