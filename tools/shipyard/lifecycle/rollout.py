"""rollout: finish a canary (its version takes all traffic) or abort it
(the canary predictor goes away); a re-run of one already done is a no-op."""

from __future__ import annotations

from shipyard import git, ids
from shipyard.errors import ShipyardError
from shipyard.lifecycle.guards import current_pin, pin_file, refuse, replicas_in
from shipyard.lifecycle.pin_edit import PinState
from shipyard.lifecycle.pin_plan import pin_plan
from shipyard.lifecycle.plan import Plan
from shipyard.lifecycle.pr_body import metrics_table, stable_section
from shipyard.lifecycle.yaml_edit import read_or_none
from shipyard.models import rules
from shipyard.models.spec import load_model, require_model_name
from shipyard.repo import Repository

def plan_rollout(repo: Repository, model_name: str, env: str, *, finish: bool) -> Plan:
    """Finish a canary (its version becomes the stable one, all traffic) or
    abort it (the canary predictor goes away)."""
    require_model_name(repo, model_name)
    repo.require_environment(env)
    model = load_model(repo, model_name)
    current = current_pin(repo, env, model_name)
    if current is None or not current.canary or not current.stable:
        done = _rollout_done(repo, model_name, env, finish=finish) if current is not None else None
        if done is not None:
            return done
        raise ShipyardError(f"no canary of {model_name} is running in {env}",
                            hint=f"start one with: shipyard promote {model_name} --to {env} --version V --canary PERCENT",
                            check=ids.USAGE)
    replicas = replicas_in(model, env)
    canary_version = model.get(current.canary)
    stable_version = model.find(current.stable)
    if finish:
        refuse(rules.gate(model, canary_version, env))
        state = PinState(stable=current.canary, replicas=replicas)
        title = f"Finish canary: {model_name} {current.canary} takes all traffic in {env}"
        sections = [
            stable_section(model, env, current.stable, current.canary,
                            [f"- Traffic: `{current.canary}` {current.canary_traffic}% → 100%; `{current.stable}` removed",
                             f"- Replicas: {replicas}"]),
            f"## Metrics ({env} gate: pass)\n\n" + metrics_table(model, stable_version, canary_version, env),
        ]
        return pin_plan(repo, model, env, current, state, action="finish", title=title,
                         branch=f"rollout/{model_name}-{env}-{current.canary}-finish", sections=sections,
                         noop="nothing to change")
    state = PinState(stable=current.stable, replicas=replicas)
    title = f"Abort canary of {model_name} {current.canary} in {env}"
    sections = [
        "\n".join([
            "## What changes", "",
            f"- Model: `{model_name}` (owner: {model.owner})",
            f"- Environment: `{env}`",
            f"- Canary `{current.canary}` ({current.canary_traffic}% of traffic) is removed; "
            f"`{current.stable}` serves 100% again",
        ]),
    ]
    return pin_plan(repo, model, env, current, state, action="abort", title=title,
                     branch=f"rollout/{model_name}-{env}-{current.canary}-abort", sections=sections,
                     noop="nothing to change")


def _rollout_done(repo: Repository, model_name: str, env: str, *, finish: bool) -> Plan | None:
    """A re-run of a rollout that already happened here: the pin is exactly
    what the last commit to it, a finish (or abort) of this model, made.
    That is a no-op, not an error, so a retried job succeeds."""
    path = pin_file(repo, env, model_name)
    subject = f"Finish canary: {model_name} " if finish else f"Abort canary of {model_name} "
    try:
        revisions = git.history(repo.root, repo.rel(path), limit=1)
    except ShipyardError:
        return None  # not a git work tree: nothing to recognise
    if not revisions or not revisions[0].subject.startswith(subject) or revisions[0].text != read_or_none(path):
        return None
    last = revisions[0]
    return Plan(action="finish" if finish else "abort", model=model_name, environment=env, title=last.subject,
                branch="", files={}, noop=f"already done in commit {last.commit[:12]} ({last.subject})")
