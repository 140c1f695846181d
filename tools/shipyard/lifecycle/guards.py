"""What every lifecycle plan checks before it computes a byte: the
arguments (--force needs --reason), the pin it will edit, the replicas it
will write. Model rules themselves live in shipyard.models.rules; `refuse`
turns one into the error a command stops with."""

from __future__ import annotations

from pathlib import Path

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.models import rules
from shipyard.models.pins import Pin, pin_dir, read_pin
from shipyard.models.problem import Problem
from shipyard.models.spec import Model
from shipyard.repo import Repository


def require_reason(reason: str | None, *, force: bool = False, accept_regression: bool = False) -> str | None:
    """The written reason a skipped rule (--force) or an accepted regression
    (--accept-regression) needs: it goes into the commit and the pull
    request, so a reviewer reads why, not only that."""
    if not (reason or "").strip():
        if force:
            raise ShipyardError("--force needs --reason: a written reason why the rule may be skipped", check=ids.USAGE)
        if accept_regression:
            raise ShipyardError("--accept-regression needs --reason: a written reason why a version worse than the "
                                "one running may replace it", check=ids.USAGE)
    if reason and not (force or accept_regression):
        raise ShipyardError("--reason goes with --force or --accept-regression", check=ids.USAGE)
    return reason.strip() if reason else None


def refuse(problem: Problem | None) -> None:
    """Stop the command with a rule's problem (shipyard.models.rules), if any."""
    if problem is not None:
        raise problem.error()


def pin_file(repo: Repository, env: str, model: str) -> Path:
    return pin_dir(repo, env, model) / "kustomization.yaml"


def current_pin(repo: Repository, env: str, model: str) -> Pin | None:
    """The pin, which must be in the model's own folder for a command to edit it."""
    pin = read_pin(repo, env, model)
    expected = repo.rel(pin_file(repo, env, model))
    if pin is not None and pin.file != expected:
        raise ShipyardError(
            f"{model} is pinned in {pin.file}, not in its own folder",
            file=pin.file,
            line=pin.stable_line or pin.canary_line,
            hint=f"move the pin to {expected} and list `{model}` in overlays/{env}/models/kustomization.yaml (docs/models.md)",
            check=ids.USAGE,
        )
    return pin


def replicas_in(model: Model, env: str) -> int:
    """The replicas model.yaml gives for ``env`` (SY506 when it gives none)."""
    refuse(rules.replicas_declared(model, env))
    value = model.replicas_for(env)
    assert value is not None
    return value


def require_deploy_base(repo: Repository, model: str) -> None:
    base = repo.root / "models" / model / "deploy" / "kustomization.yaml"
    if not base.is_file():
        raise ShipyardError(f"models/{model}/deploy/kustomization.yaml is missing: the model has no deploy base",
                            hint="write the SeldonDeployment base first (docs/models.md)", check=ids.USAGE)


def clusters_of(repo: Repository, env: str) -> str:
    names = [c.name for c in repo.clusters() if c.environment == env]
    return ", ".join(names) if names else "none declared"
