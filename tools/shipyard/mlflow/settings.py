"""Which MLflow server, and which alias each environment has.

The tracking URI is the first of --mlflow-uri, MLFLOW_TRACKING_URI (what
MLflow's own client reads) and mlflow.trackingUri in shipyard.yaml. Alias
names default to the environment's own name (dev, staging, production);
mlflow.aliases in shipyard.yaml renames them, e.g. {production: champion}."""

from __future__ import annotations

import os
import re
from typing import Mapping

from shipyard.errors import ShipyardError
from shipyard.mlflow.rest import FAILED, MlflowRest
from shipyard.repo import Repository

ENV_VAR = "MLFLOW_TRACKING_URI"
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def tracking_uri(repo: Repository, given: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The tracking server's URL, or an error that says the three places it can come from."""
    env = os.environ if environ is None else environ
    settings = repo.settings.mlflow
    uri = given or env.get(ENV_VAR) or (settings.tracking_uri if settings else None)
    if not uri:
        raise ShipyardError("no MLflow tracking server is configured", check=FAILED,
                            hint=f"pass --mlflow-uri URL, set {ENV_VAR}, or set mlflow.trackingUri in shipyard.yaml")
    if not uri.startswith(("http://", "https://")):
        raise ShipyardError(f"the MLflow tracking URI must be http:// or https://, not {uri!r}", check=FAILED,
                            hint="the toolkit talks to a tracking server's REST API; a local mlruns folder or "
                                 "databricks:// is not one")
    return uri.rstrip("/")


def client(repo: Repository, given: str | None, environ: Mapping[str, str] | None = None) -> MlflowRest:
    return MlflowRest(tracking_uri(repo, given, environ), environ)


def alias_names(repo: Repository) -> dict[str, str]:
    """Environment -> the alias its stable version carries in MLflow."""
    settings = repo.settings.mlflow
    configured = settings.aliases if settings else {}
    envs = repo.model_environments()
    unknown = sorted(set(configured) - set(envs))
    if unknown and settings is not None:
        raise ShipyardError(f"mlflow.aliases names {unknown[0]!r}, which is not an environment", file=settings.file,
                            line=settings.aliases_line, check=FAILED, hint=f"environments are: {', '.join(envs)}")
    names = {env: configured.get(env, env) for env in envs}
    for env, name in names.items():
        if not _ALIAS.match(name):
            raise ShipyardError(f"mlflow.aliases: {name!r} (for {env}) is not an MLflow alias name", check=FAILED,
                                file=settings.file if settings else None, line=settings.aliases_line if settings else None,
                                hint="an alias is letters, digits, '_' or '-'")
    taken: dict[str, str] = {}
    for env, name in names.items():
        if name in taken:
            raise ShipyardError(f"mlflow.aliases gives {taken[name]} and {env} the same alias {name!r}", check=FAILED,
                                file=settings.file if settings else None, line=settings.aliases_line if settings else None,
                                hint="each environment needs an alias of its own")
        taken[name] = env
    return names
