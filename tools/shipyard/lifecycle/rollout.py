"""rollout: finish a canary (its version takes all traffic) or abort it
(the canary predictor goes away); a re-run of one already done is a no-op.
Or analyze it: measure it against the stable version on Prometheus
(shipyard.lifecycle.analysis decides) and step its traffic, finish or
abort it, each as the same kind of pull request."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from shipyard import git, ids
from shipyard.errors import ShipyardError
from shipyard.lifecycle import analysis
from shipyard.lifecycle.analysis import Decision, Figures
from shipyard.lifecycle.guards import current_pin, pin_file, refuse, replicas_in
from shipyard.lifecycle.pin_edit import PinState
from shipyard.lifecycle.pin_plan import pin_plan
from shipyard.lifecycle.plan import Plan
from shipyard.lifecycle.promote import plan_promote
from shipyard.lifecycle.pr_body import metrics_table, stable_section
from shipyard.lifecycle.yaml_edit import read_or_none
from shipyard.models import rules
from shipyard.models.spec import Model, load_model, require_model_name
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


# --------------------------------------------------------------------------
# Canary analysis (`shipyard rollout --analyze`): measure, decide, and the
# step, finish or abort as the same pull request the commands above open.

PROMETHEUS_URL_VARIABLE = "SHIPYARD_PROMETHEUS_URL"
Measure = Callable[[str], float | None]  # a PromQL expression -> the one number it gives now (None: no data)


@dataclass(frozen=True)
class Analyzed:
    """A canary measured and judged, before anything is written."""

    model: str
    environment: str
    canary: str
    stable: str
    decision: Decision
    source: str  # where the figures came from (the Prometheus URL)


def prometheus_url(repo: Repository, given: str | None) -> str:
    """Where Prometheus is: --prometheus-url, else SHIPYARD_PROMETHEUS_URL,
    else shipyard.yaml prometheus.url."""
    for value, origin in ((given, "--prometheus-url"), (os.environ.get(PROMETHEUS_URL_VARIABLE), PROMETHEUS_URL_VARIABLE)):
        if value:
            if not value.startswith(("http://", "https://")):
                raise ShipyardError(f"{origin} must be an http:// or https:// URL, not {value!r}", check=ids.USAGE)
            return value
    configured = repo.settings.prometheus_url
    if configured:
        return configured
    raise ShipyardError("canary analysis needs Prometheus, and none is named",
                        hint=f"pass --prometheus-url URL, set {PROMETHEUS_URL_VARIABLE}, or write prometheus: {{url: ...}} "
                             "in shipyard.yaml", check=ids.USAGE)


def _figures(model: Model, version: str, ask: Measure) -> Figures:
    spec = model.analysis
    requests = ask(analysis.render(analysis.requests_query(spec), model.name, version, spec.window))
    values = {m.name: ask(analysis.render(analysis.query_of(m), model.name, version, spec.window)) for m in spec.metrics}
    return Figures(version=version, requests=requests, values=values)


def analyze(repo: Repository, model_name: str, env: str, ask: Measure, *, source: str) -> Analyzed:
    """Measure the canary of ``model_name`` in ``env`` and its stable
    version with ``ask`` (a Prometheus query), and decide what comes next.
    Reads only: nothing is written, and no lock is taken while Prometheus
    answers."""
    require_model_name(repo, model_name)
    repo.require_environment(env)
    model = load_model(repo, model_name)
    refuse(next(iter(analysis.problems(model)), None))
    current = current_pin(repo, env, model_name)
    if current is None or not current.canary or not current.stable:
        raise ShipyardError(f"no canary of {model_name} is running in {env}: nothing to analyze",
                            hint=f"start one with: shipyard promote {model_name} --to {env} --version V --canary PERCENT",
                            check=ids.USAGE)
    traffic = int(current.canary_traffic or 0)
    canary = _figures(model, current.canary, ask)
    stable = _figures(model, current.stable, ask)
    decision = analysis.decide(model.analysis, traffic, canary, stable)
    return Analyzed(model_name, env, current.canary, current.stable, decision, source)


def plan_analyzed(repo: Repository, analyzed: Analyzed) -> Plan:
    """The change an analysis decided: the next traffic step (as `promote
    --canary` writes it), or the finish or abort of `rollout`; each with
    the figures in its pull request. The pin must still be the one that
    was measured."""
    decision = analyzed.decision
    if decision.action == "wait":
        raise ShipyardError("a canary analysis that waits changes nothing", check=ids.USAGE)
    current = current_pin(repo, analyzed.environment, analyzed.model)
    if current is None or (current.canary, current.stable, int(current.canary_traffic or 0)) != \
            (analyzed.canary, analyzed.stable, decision.traffic):
        raise ShipyardError(f"the canary of {analyzed.model} in {analyzed.environment} changed while it was analyzed",
                            hint="run the analysis again", check=ids.USAGE)
    figures = analysis.section(decision, analyzed.source)
    if decision.action == "step":
        assert decision.target is not None
        plan = plan_promote(repo, analyzed.model, analyzed.environment, version=analyzed.canary, canary=decision.target)
        plan.action = "step"
        plan.title = (f"Canary {analyzed.model} {analyzed.canary}: {decision.traffic}% → {decision.target}% "
                      f"in {analyzed.environment} (analysis passed)")
    else:
        plan = plan_rollout(repo, analyzed.model, analyzed.environment, finish=decision.action == "finish")
        plan.title += " (canary analysis passed)" if decision.action == "finish" else " (canary analysis failed)"
    plan.sections.insert(1 if plan.sections else 0, figures)
    return plan
