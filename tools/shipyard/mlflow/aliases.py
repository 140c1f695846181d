"""Aliases follow git: each environment's alias in MLflow sits on the model
version that environment's pins run.

git is the record of what runs where (overlays/<env>/models pins a version
of model.yaml); MLflow is the record of what exists. A model.yaml version
imported from MLflow carries its lineage (versions[].mlflow: model,
version), so for every environment the pinned stable version names one
MLflow model version, which gets the environment's alias (``dev``,
``staging``, ``production``, or what mlflow.aliases in shipyard.yaml calls
them); a running canary gets ``<alias>-canary``. An alias of those names
that points anywhere else is moved, and one whose environment runs no
MLflow version of that registered model is removed. Aliases of other names
are never touched: they belong to people, not to git.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from shipyard.mlflow.rest import MlflowRest, NotFound
from shipyard.mlflow.settings import alias_names
from shipyard.models.pins import read_pin
from shipyard.models.spec import load_model, model_names
from shipyard.repo import Repository
from shipyard.shapes import as_dict, as_list

CANARY_SUFFIX = "-canary"


@dataclass(frozen=True)
class AliasChange:
    """One alias to set (``version`` given) or remove (``version`` None) on one registered model."""

    registered_model: str
    alias: str
    version: str | None
    was: str | None
    why: str

    def describe(self) -> str:
        where = f"{self.registered_model}@{self.alias}"
        if self.version is None:
            return f"remove {where} (was version {self.was}): {self.why}"
        moved = f", was version {self.was}" if self.was else ""
        return f"set {where} -> version {self.version}{moved}: {self.why}"


def desired_aliases(repo: Repository) -> tuple[dict[str, dict[str, tuple[str, str]]], list[str]]:
    """{registered model: {alias: (MLflow version, why)}} from the pins, the
    registered models any model.yaml version links to, and notes on pins
    whose version did not come from MLflow."""
    names = alias_names(repo)
    wanted: dict[str, dict[str, tuple[str, str]]] = {}
    notes: list[str] = []
    for model_name in model_names(repo):
        model = load_model(repo, model_name)
        linked = sorted({v.mlflow.model for v in model.versions if v.mlflow is not None})
        if not linked:
            continue
        for registered in linked:
            wanted.setdefault(registered, {})
        for env in repo.model_environments():
            pin = read_pin(repo, env, model_name)
            for role, pinned in (("stable", pin.stable if pin else None), ("canary", pin.canary if pin else None)):
                if pinned is None:
                    continue
                alias = names[env] + (CANARY_SUFFIX if role == "canary" else "")
                version = model.find(pinned)
                if version is None or version.mlflow is None:
                    notes.append(f"{model_name} {pinned} ({role} in {env}) was not imported from MLflow: no {alias} alias")
                    continue
                why = f"{model_name} {pinned} runs in {env}" + (" as the canary" if role == "canary" else "")
                previous = wanted[version.mlflow.model].get(alias)
                if previous is not None and previous[0] != version.mlflow.version:
                    notes.append(f"{alias} on {version.mlflow.model}: {previous[1]}, and {why}; keeping the first")
                    continue
                wanted[version.mlflow.model][alias] = (version.mlflow.version, why)
    return wanted, notes


def plan_aliases(repo: Repository, rest: MlflowRest) -> tuple[list[AliasChange], list[str]]:
    """What to change in MLflow so its managed aliases say what git says."""
    names = alias_names(repo)
    managed = set(names.values()) | {name + CANARY_SUFFIX for name in names.values()}
    wanted, notes = desired_aliases(repo)
    changes: list[AliasChange] = []
    for registered, aliases in sorted(wanted.items()):
        try:
            current = {str(as_dict(a).get("alias")): str(as_dict(a).get("version"))
                       for a in as_list(rest.registered_model(registered).get("aliases"))}
        except NotFound:
            notes.append(f"registered model {registered!r} is not in MLflow at {rest.uri}: its aliases are not set")
            continue
        for alias, (version, why) in sorted(aliases.items()):
            if current.get(alias) != version:
                changes.append(AliasChange(registered, alias, version, current.get(alias), why))
        for alias, version in sorted(current.items()):
            if alias in managed and alias not in aliases:
                changes.append(AliasChange(registered, alias, None, version, "no environment runs it under that alias"))
    return changes, notes


def apply_aliases(rest: MlflowRest, changes: list[AliasChange], log: Callable[[str], None] | None = None) -> None:
    """Make the changes, removals first so a moved alias is never on two versions in one report."""
    for change in sorted(changes, key=lambda c: c.version is not None):
        if change.version is None:
            rest.delete_alias(change.registered_model, change.alias)
        else:
            rest.set_alias(change.registered_model, change.alias, change.version)
        if log is not None:
            log(change.describe())
