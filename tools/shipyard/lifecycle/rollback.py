"""rollback: return an environment to the version pinned there before the
current one, found in the git history of the model's pin file."""

from __future__ import annotations

from shipyard import git, ids
from shipyard.errors import ShipyardError
from shipyard.lifecycle.guards import clusters_of, current_pin, pin_file, refuse, replicas_in
from shipyard.lifecycle.pin_edit import PinState
from shipyard.lifecycle.pin_plan import pin_plan
from shipyard.lifecycle.plan import Plan
from shipyard.lifecycle.pr_body import metrics_table, stable_section
from shipyard.models import rules
from shipyard.models.pins import parse_pins
from shipyard.models.spec import load_model, require_model_name
from shipyard.repo import Repository

def previous_pin(repo: Repository, env: str, model: str, current: str) -> tuple[str, git.Revision] | None:
    """The stable version pinned before ``current``, from the git history of
    the model's pin file in ``env``."""
    path = pin_file(repo, env, model)
    rel = repo.rel(path)
    for revision in git.history(repo.root, rel):
        if revision.text is None:
            continue
        try:
            pin = parse_pins(repo, path, env, text=revision.text).get(model)
        except ShipyardError:
            continue
        if pin is not None and pin.stable and pin.stable != current:
            return pin.stable, revision
    return None


def plan_rollback(repo: Repository, model_name: str, env: str) -> Plan:
    """Return ``env`` to the version pinned there before the current one."""
    require_model_name(repo, model_name)
    repo.require_environment(env)
    model = load_model(repo, model_name)
    current = current_pin(repo, env, model_name)
    if current is None or not current.stable:
        raise ShipyardError(f"{model_name} is not deployed in {env}: nothing to roll back", check=ids.USAGE)
    if current.canary:
        raise ShipyardError(
            f"a canary of {model_name} {current.canary} is running in {env}",
            file=current.file, line=current.canary_line,
            hint=f"to undo the canary: shipyard rollout {model_name} --env {env} --abort",
            check=ids.USAGE,
        )
    git.require_repository(repo.root)
    found = previous_pin(repo, env, model_name, current.stable)
    if found is None:
        raise ShipyardError(f"no earlier version of {model_name} in {env} in the git history of {current.file}",
                            hint="promote a specific version instead: shipyard promote --version V", check=ids.USAGE)
    version, revision = found
    target = model.find(version)
    if target is None:
        raise ShipyardError(
            f"the previous version {version} (commit {revision.commit[:12]}) is no longer registered in {model.rel}",
            file=model.rel, hint="promote a registered version instead", check="SY502")
    refuse(rules.gate(model, target, env))
    replicas = replicas_in(model, env)
    state = PinState(stable=version, replicas=replicas)
    title = f"Roll back {model_name} in {env} from {current.stable} to {version}"
    sections = [
        stable_section(model, env, current.stable, version,
                        [f"- Previous pin: commit `{revision.commit[:12]}` ({revision.subject})",
                         f"- Replicas: {replicas}", f"- Clusters: {clusters_of(repo, env)}"]),
        f"## Metrics ({env} gate: pass)\n\n" + metrics_table(model, model.find(current.stable), target, env),
    ]
    return pin_plan(repo, model, env, current, state, action="rollback", title=title,
                     branch=f"rollback/{model_name}-{env}-{version}", sections=sections, noop="nothing to change")
