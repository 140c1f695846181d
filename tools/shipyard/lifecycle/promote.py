"""promote: pin a version in an environment, or run it there as a canary
beside the stable one, after its rules pass (gates, reachable artifact,
promotion order, Istio for a traffic split, champion/challenger: not
worse than the version the environment runs now, and GPU capacity: the
environment's clusters hold every GPU asked for after the change)."""

from __future__ import annotations

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.lifecycle.gpus import require_capacity
from shipyard.lifecycle.guards import clusters_of, current_pin, refuse, replicas_in, require_deploy_base, require_reason
from shipyard.lifecycle.pin_edit import PinState
from shipyard.lifecycle.pin_plan import pin_plan
from shipyard.lifecycle.plan import Plan
from shipyard.lifecycle.pr_body import accepted_section, comparison_section, metrics_table, stable_section, version_lines
from shipyard.models import rules
from shipyard.models.pins import read_pin
from shipyard.models.spec import Model, Version, load_model, require_model_name
from shipyard.repo import Repository

def plan_promote(
    repo: Repository,
    model_name: str,
    env: str,
    *,
    version: str | None = None,
    from_env: str | None = None,
    canary: int | None = None,
    force: bool = False,
    accept_regression: bool = False,
    reason: str | None = None,
) -> Plan:
    """Pin a version in ``env`` (or start/adjust a canary of it there)."""
    reason = require_reason(reason, force=force, accept_regression=accept_regression)
    require_model_name(repo, model_name)
    repo.require_environment(env)
    model = load_model(repo, model_name)
    require_deploy_base(repo, model_name)
    if version is not None and from_env is not None:
        raise ShipyardError("give --version or --from, not both", check=ids.USAGE)
    previous_env = repo.previous_environment(env)
    if from_env is not None:
        repo.require_environment(from_env)
        source = read_pin(repo, from_env, model_name)
        if source is None or source.stable is None:
            raise ShipyardError(f"{model_name} is not deployed in {from_env}: nothing to promote from there",
                                hint=f"pass --version; registered: {', '.join(v.version for v in model.versions)}",
                                check=ids.USAGE)
        version = source.stable
    elif version is None:
        source = read_pin(repo, previous_env, model_name) if previous_env else None
        if source is not None and source.stable:
            version = source.stable
        elif model.latest is not None and previous_env is None:
            version = model.latest.version
        else:
            raise ShipyardError(f"which version? {model_name} is not deployed in {previous_env}",
                                hint=f"pass --version; registered: {', '.join(v.version for v in model.versions) or 'none'}",
                                check=ids.USAGE)
    target = model.get(version)
    refuse(rules.uri_without_credentials(model.name, target.version, target.model_uri, at=(model.rel, target.line)))
    refuse(rules.reachable(model, target, env))
    refuse(rules.gate(model, target, env))
    forced: list[str] = []
    if previous_env is not None:
        before = read_pin(repo, previous_env, model_name)
        out_of_order = rules.promotion_order(model, version, env, previous_env, before.stable if before else None)
        if out_of_order is not None:
            if not force:
                raise out_of_order.error()
            forced.append(out_of_order.message)
    current = current_pin(repo, env, model_name)
    replicas = replicas_in(model, env)
    warnings: list[str] = []
    if canary is None:
        if current is not None and current.canary:
            raise ShipyardError(
                f"a canary of {model_name} {current.canary} is running in {env}",
                file=current.file, line=current.canary_line,
                hint=f"finish or abort it first: shipyard rollout {model_name} --env {env} --finish|--abort",
                check=ids.USAGE,
            )
        state = PinState(stable=version, replicas=replicas)
        old_version = model.find(current.stable) if current and current.stable else None
        title = f"Promote {model_name} {version} to {env}"
        extra = [f"- Replicas: {replicas}", f"- Clusters: {clusters_of(repo, env)}"]
        action, branch = "promote", f"promote/{model_name}-{env}-{version}"
        noop = f"{model_name} {version} is already pinned in {env} with {replicas} replica(s)"
    else:
        if not 1 <= canary <= 99:
            raise ShipyardError(f"--canary takes a percentage from 1 to 99, not {canary}", check=ids.USAGE)
        if current is None or not current.stable:
            raise ShipyardError(f"{model_name} has no stable version in {env} to run a canary beside",
                                hint=f"promote it without --canary first: shipyard promote {model_name} --to {env}",
                                check=ids.USAGE)
        if current.stable == version:
            raise ShipyardError(f"{model_name} {version} is already the stable version in {env}", check=ids.USAGE)
        clusters = repo.clusters()
        no_istio = rules.canary_traffic(clusters, env, at=(model.rel, target.line))
        if no_istio is not None:
            if not force:
                raise no_istio.error(hint="install Istio there (and set istio: true), or pass --force --reason TEXT")
            forced.append(no_istio.message)
        unknown = rules.unknown_traffic(clusters, env)
        if unknown:
            warnings.append(unknown)
        state = PinState(stable=current.stable, replicas=replicas, canary=version, canary_traffic=canary,
                         canary_replicas=model.canary_replicas_for(env))
        old_version = model.find(current.stable)
        title = f"Canary {model_name} {version} at {canary}% in {env}"
        extra = [f"- Stable: `{current.stable}` keeps {100 - canary}% of traffic ({replicas} replica(s))",
                 f"- Canary: `{version}` takes {canary}% ({model.canary_replicas_for(env)} replica(s)), Seldon traffic split through Istio",
                 f"- Clusters: {clusters_of(repo, env)}"]
        if current.canary and current.canary != version:
            extra.append(f"- Replaces the running canary `{current.canary}`")
        action, branch = "canary", f"canary/{model_name}-{env}-{version}-{canary}"
        noop = f"a canary of {model_name} {version} at {canary}% already runs in {env}"
    if model.gpu_for(env) > 0:
        extra.append(f"- GPUs: {model.gpu_for(env)} per replica (`spec.serving.gpu`), on the GPU nodes of "
                     f"{clusters_of(repo, env)} (`spec.gpu` in cluster.yaml)")
    sections_compared: list[str] = []
    if old_version is not None and old_version.version != version:
        # a canary whose traffic is only adjusted was compared when it started
        starts = canary is None or current is None or current.canary != version
        sections_compared = _champion_challenger(model, target, old_version, env, starts=starts,
                                                 accept=accept_regression, reason=reason, warnings=warnings)
    elif accept_regression and old_version is None:
        warnings.append(f"--accept-regression: {env} runs no registered version of {model_name}, nothing is compared")
    if canary is None:
        what = stable_section(model, env, current.stable if current else None, version, extra)
    else:
        what = "\n".join(["## What changes", "", f"- Model: `{model_name}` (owner: {model.owner})",
                          f"- Environment: `{env}`", *extra])
    sections = [
        what,
        f"## Metrics ({env} gate: pass)\n\n" + metrics_table(model, old_version, target, env),
        *sections_compared,
        f"## Version {version}\n\n" + "\n".join(version_lines(target)),
    ]
    if forced:
        sections.append("## Forced\n\n" + "\n".join(f"- skipped: {f}" for f in forced) + f"\n- reason: {reason}")
    plan = pin_plan(repo, model, env, current, state, action=action, title=title, branch=branch,
                     sections=sections, noop=noop)
    if plan.files:  # a re-run that changes nothing renders nothing more
        require_capacity(repo, model, env, state, warnings)
    plan.warnings.extend(warnings)
    return plan


def _champion_challenger(model: Model, candidate: Version, current: Version, env: str, *, starts: bool, accept: bool,
                         reason: str | None, warnings: list[str]) -> list[str]:
    """Compare ``candidate`` with ``current``, the version ``env`` runs now
    (SY513), before anything is written: refuse a regression unless it is
    accepted with a reason, warn about every worse figure, and return the
    pull request's sections. ``starts``: the candidate is new in ``env``
    (not a running canary whose traffic is adjusted), so a regression stops
    it; otherwise the comparison is only shown."""
    comparison = rules.compare_versions(model, candidate, current, env)
    problem = rules.regression(model, candidate, current, env) if starts else None
    if problem is not None and not accept:
        raise problem.error()
    if comparison.data == "different":
        assert current.evaluation is not None and candidate.evaluation is not None
        warnings.append(f"{model.name} {candidate.version} and {current.version} were measured on different evaluation "
                        f"data ({current.version}: {current.evaluation.describe()}; {candidate.version}: "
                        f"{candidate.evaluation.describe()}): their metrics cannot say which is better, so none was refused")
    for change in comparison.worse:
        if change.verdict == "within":
            warnings.append(f"{change.describe()}: worse than {current.version}, which {env} runs now, within the tolerance")
    sections = [comparison_section(model, comparison, accepted=problem is not None)]
    if problem is not None:
        assert reason is not None  # require_reason: --accept-regression needs --reason
        warnings.append(f"regression accepted (--accept-regression): {problem.message}")
        sections.append(accepted_section(problem.message, reason))
    elif accept and not starts:
        warnings.append(f"--accept-regression: {candidate.version} already runs as the canary in {env}; it was compared "
                        "with the stable version when it started, and only its traffic changes now")
    elif accept:
        warnings.append(f"--accept-regression: nothing to accept, {model.name} {candidate.version} is not worse than "
                        f"{current.version} beyond a tolerance")
    return sections
