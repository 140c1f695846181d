"""SY5xx: models and promotion gates.

A model version reaches a cluster through three files that must agree:
models/<m>/model.yaml (the registered URI and metrics), the generated
version component, and the environment's pin. These checks read them (from
``ctx.repo``) and the rendered SeldonDeployments (from the targets), and
point at the line to change: the pin for a wrong version, model.yaml for a
wrong declaration.

Each decision is a rule in shipyard.models.rules that the lifecycle commands
refuse with too; these checks only say where the finding goes.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.errors import ShipyardError
from shipyard.findings import Finding
from shipyard.ids import CheckId
from shipyard.load import load_located_file
from shipyard.models import REQUEST_LOGGING, SELDON_GROUP, SELDON_KIND, rules
from shipyard.models.components import component_problems
from shipyard.models.gpus import deploy_base, expected_gpu_patch, pin_gpu_problems
from shipyard.models.pins import Pin, read_pins
from shipyard.models.problem import Problem
from shipyard.models.spec import Model, model_names, model_problems
from shipyard.objects import K8sObject
from shipyard.render.target import RenderedTarget
from shipyard.shapes import as_dict, plain_name


RELEVANT_KINDS = ("overlay", "entrypoint")


# --------------------------------------------------------------------------
# What the checks share: loaded once per validate run (ctx.cache)


def _applies(ctx: CheckContext) -> bool:
    """Model checks speak about the repository's overlays; a run that only
    checks an unrelated file or folder stays quiet."""
    if ctx.repo is None or not (ctx.repo.root / "models").is_dir():
        return False
    if not ctx.targets:
        return True
    return any(t.kind in RELEVANT_KINDS or t.name.startswith(("models/", "overlays/")) for t in ctx.targets)


def _environments(ctx: CheckContext) -> list[str]:
    assert ctx.repo is not None
    known = ctx.repo.model_environments()
    named = {t.environment for t in ctx.targets if t.environment}
    return [e for e in known if e in named] if named else known


def _models(ctx: CheckContext) -> dict[str, tuple[Model | None, list[Problem]]]:
    key = "models.loaded"
    if key not in ctx.cache:
        assert ctx.repo is not None
        ctx.cache[key] = {name: model_problems(ctx.repo, name) for name in model_names(ctx.repo)}
    return ctx.cache[key]  # type: ignore[return-value]


def _pins(ctx: CheckContext, env: str) -> dict[str, Pin] | Problem:
    key = f"models.pins.{env}"
    if key not in ctx.cache:
        assert ctx.repo is not None
        try:
            ctx.cache[key] = read_pins(ctx.repo, env)
        except ShipyardError as exc:
            ctx.cache[key] = Problem("SY502", exc.file or f"overlays/{env}/models", exc.line or 1, exc.message)
    return ctx.cache[key]  # type: ignore[return-value]


def _all_pins(ctx: CheckContext) -> Iterator[tuple[str, Pin]]:
    for env in _environments(ctx):
        pins = _pins(ctx, env)
        if isinstance(pins, dict):
            for pin in pins.values():
                yield env, pin


def _model(ctx: CheckContext, name: str) -> Model | None:
    return _models(ctx).get(name, (None, []))[0]


def _reported(problem: Problem, *, message: str | None = None, hint: str | None = None, obj: K8sObject | None = None,
              target: str = "") -> Finding:
    """A rule's problem as a finding (``message``: the check's own wording
    around the rule's, when the finding needs more context)."""
    return _finding(problem.id, problem.file, problem.line, message or problem.message, hint or problem.hint,
                    obj=obj, target=target)


def _finding(check_id: CheckId, file: str, line: int, message: str, hint: str, *, severity: str = "error",
             obj: K8sObject | None = None, target: str = "") -> Finding:
    return Finding(check=check_id, message=message, file=file, line=line, hint=hint,
                   object=obj.ref if obj else None, target=target or (obj.target if obj else ""),
                   severity=severity)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Static checks: model.yaml, components, pins


@check("SY501")
def model_schema(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    for name, (_model_obj, problems) in sorted(_models(ctx).items()):
        for problem in problems:
            yield _finding("SY501", problem.file, problem.line, f"model {name}: {problem.message}",
                           problem.hint or "fix model.yaml (docs/models.md)")


@check("SY517")
def canary_analysis_declared(ctx: CheckContext) -> Iterable[Finding]:
    """spec.analysis as `rollout --analyze` reads it: the same rules, so a bad
    schedule or query fails the pull request that writes it, not the first
    scheduled analysis after it merges."""
    if not _applies(ctx):
        return
    from shipyard.lifecycle.analysis import problems as analysis_problems

    for name, (loaded, _problems) in sorted(_models(ctx).items()):
        if loaded is None or not loaded.analysis.declared:
            continue
        for problem in analysis_problems(loaded):
            yield _finding("SY517", problem.file, problem.line, f"model {name}: {problem.message}",
                           problem.hint or "fix spec.analysis in model.yaml (docs/canary.md)")


@check("SY502")
def pin_registered(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    for env in _environments(ctx):
        pins = _pins(ctx, env)
        if isinstance(pins, Problem):
            yield _finding("SY502", pins.file, pins.line, f"cannot read the pins of {env}: {pins.message}",
                           "fix the kustomization")
            continue
        for name, pin in sorted(pins.items()):
            loaded, problems = _models(ctx).get(name, (None, None))
            if problems is None:
                yield _finding("SY502", pin.file, pin.stable_line or pin.canary_line,
                               f"{env} pins model {name!r}, which has no models/{name}/model.yaml",
                               "add the model's model.yaml or remove the pin")
                continue
            if loaded is None:
                continue  # SY501 reports the broken model.yaml
            for version, line, role in ((pin.stable, pin.stable_line, "stable"), (pin.canary, pin.canary_line, "canary")):
                if version and loaded.find(version) is None:
                    known = ", ".join(v.version for v in loaded.versions) or "none"
                    yield _finding("SY502", pin.file, line,
                                   f"{env} pins {name} {version} ({role}), which {loaded.rel} does not register",
                                   f"registered versions: {known}")


@check("SY504")
def pin_gates(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    for env, pin in _all_pins(ctx):
        loaded = _model(ctx, pin.model)
        if loaded is None:
            continue
        for version, line in ((pin.stable, pin.stable_line), (pin.canary, pin.canary_line)):
            registered = loaded.find(version) if version else None
            problem = rules.gate(loaded, registered, env, at=(pin.file, line)) if registered else None
            if problem:
                yield _reported(problem)


@check("SY505")
def components_in_sync(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    assert ctx.repo is not None
    for name, (loaded, _problems) in sorted(_models(ctx).items()):
        if loaded is None:
            continue
        for problem in component_problems(ctx.repo, loaded):
            yield _finding("SY505", problem.file, problem.line, f"{name}: {problem.message}",
                           problem.hint or f"run `shipyard register {name} --sync`")
    for env, pin in _all_pins(ctx):
        loaded = _model(ctx, pin.model)
        if loaded is not None:
            yield from _gpu_patch_findings(ctx, loaded, env, pin)


def _gpu_patch_findings(ctx: CheckContext, loaded: Model, env: str, pin: Pin) -> Iterator[Finding]:
    """SY505 for the GPU patch generated into a pin: what model.yaml and the
    environment's clusters make of it, against what the pin holds. Only a
    model that uses GPUs in ``env`` has its deploy base rendered."""
    assert ctx.repo is not None
    try:
        doc = load_located_file(ctx.repo.root / pin.file, pin.file)
        clusters = ctx.repo.clusters()
    except ShipyardError:
        return  # a broken pin or cluster.yaml is reported by the checks that read them
    try:
        base: dict[str, Any] | None = None
        if loaded.gpu_for(env) > 0:
            key = f"models.deploy-base.{loaded.name}"
            if key not in ctx.cache:
                ctx.cache[key] = deploy_base(ctx.repo, loaded)
            cached = ctx.cache[key]
            base = cached if isinstance(cached, dict) else None
        expected = expected_gpu_patch(loaded, env, clusters, base, 2 if pin.canary else 1)
    except ShipyardError as exc:
        yield _finding(exc.check, exc.file or pin.file, exc.line or 1, f"{loaded.name} in {env}: {exc.message}",
                       exc.hint or "")
        return
    for problem in pin_gpu_problems(loaded, env, pin.file, doc.data, expected, doc.line):
        yield _reported(problem, message=f"{loaded.name}: {problem.message}")


@check("SY508")
def pin_reachable(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    for env, pin in _all_pins(ctx):
        loaded = _model(ctx, pin.model)
        for version, line in ((pin.stable, pin.stable_line), (pin.canary, pin.canary_line)):
            registered = loaded.find(version) if loaded and version else None
            problem = rules.reachable(loaded, registered, env, at=(pin.file, line)) if loaded and registered else None
            if problem:
                yield _reported(problem)


@check("SY509")
def canary_istio(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    assert ctx.repo is not None
    try:
        clusters = ctx.repo.clusters()
    except ShipyardError:
        return  # cluster.yaml problems are reported by the checks that own them
    for env, pin in _all_pins(ctx):
        if not pin.canary:
            continue
        problem = rules.canary_traffic(clusters, env, at=(pin.file, pin.canary_line))
        if problem:
            yield _reported(problem, message=f"{pin.model} {pin.canary} runs as a canary in {env}: {problem.message}",
                            hint=f"shipyard rollout {pin.model} --env {env} --abort, or install Istio")


@check("SY511")
def pin_shape(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    for env, pin in _all_pins(ctx):
        for entry, line in pin.extra:
            yield _finding("SY511", pin.file, line, f"{pin.model} is pinned more than once in {env}: {entry}",
                           "remove the extra component")
        if pin.canary and not pin.stable:
            yield _finding("SY511", pin.file, pin.canary_line,
                           f"{pin.model} has a canary in {env} but no stable version", "list the stable version's component first")
        elif pin.canary and pin.canary_line < pin.stable_line:
            yield _finding("SY511", pin.file, pin.canary_line,
                           f"{pin.model}: the canary component is listed before the stable one",
                           "list the stable version's component first: the canary copies its predictor")


@check("SY512")
def pin_monitored(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    assert ctx.repo is not None
    monitored = ctx.repo.settings.monitored
    for env, pin in _all_pins(ctx):
        if env not in monitored:
            continue
        target = (ctx.repo.root / "models" / pin.model / "monitoring").resolve()
        folder = (ctx.repo.root / pin.file).parent
        try:
            data = load_located_file(ctx.repo.root / pin.file, pin.file).data or {}
        except ShipyardError:
            continue
        resources = data.get("resources") if isinstance(data, dict) else None
        listed = any(isinstance(r, str) and (folder / r).resolve() == target for r in resources or [])
        if not listed:
            yield _finding("SY512", pin.file, 1, f"{pin.model} in {env} has no monitoring (models/{pin.model}/monitoring)",
                           f"add ../../../../models/{pin.model}/monitoring to resources", severity="warning")
            continue
        logging = (ctx.repo.root / "models" / pin.model / REQUEST_LOGGING).resolve()
        if logging.is_dir():
            components = data.get("components") if isinstance(data, dict) else None
            entries = [(folder / c).resolve() if isinstance(c, str) else None for c in components or []]
            versions = [i for i, e in enumerate(entries)
                        if e is not None and "versions" in (e.parent.name, e.parent.parent.name)]
            at = entries.index(logging) if logging in entries else None
            if at is None or (versions and at > versions[0]):
                where = "is not listed" if at is None else "is listed after the version's component"
                yield _finding("SY512", pin.file, 1,
                               f"{pin.model} in {env}: the request logging (models/{pin.model}/{REQUEST_LOGGING}) "
                               f"{where}, so its predictors' requests never reach the drift check",
                               f"list ../../../../models/{pin.model}/{REQUEST_LOGGING} first under components",
                               severity="warning")


# --------------------------------------------------------------------------
# Rendered checks: the SeldonDeployments a cluster would receive


def _rendered(ctx: CheckContext) -> Iterator[tuple[RenderedTarget, K8sObject, Model]]:
    if not _applies(ctx):
        return
    for target, obj in ctx.objects():
        if not target.environment or obj.kind != SELDON_KIND or obj.group != SELDON_GROUP:
            continue
        loaded = _model(ctx, obj.name)
        if loaded is not None:
            yield target, obj, loaded


def _predictors(obj: K8sObject) -> list[tuple[int, dict[str, Any]]]:
    predictors = (obj.body.get("spec") or {}).get("predictors")
    return [(i, p) for i, p in enumerate(predictors if isinstance(predictors, list) else []) if isinstance(p, dict)]


def _pin_of(ctx: CheckContext, env: str, model: str) -> Pin | None:
    pins = _pins(ctx, env)
    return pins.get(model) if isinstance(pins, dict) else None


def _where(ctx: CheckContext, obj: K8sObject, env: str, role: str, path: tuple[str | int, ...]) -> tuple[str, int]:
    """The pin line when the pin is known (that is what to change), else the object."""
    pin = _pin_of(ctx, env, obj.name)
    if pin is not None:
        line = pin.canary_line if role == "canary" else pin.stable_line
        return pin.file, line or 1
    return obj.source.path, obj.line_of(path)


@check("SY503")
def rendered_uri(ctx: CheckContext) -> Iterable[Finding]:
    for target, obj, loaded in _rendered(ctx):
        env = str(target.environment)
        for index, predictor in _predictors(obj):
            at = _where(ctx, obj, env, rules.predictor_role(predictor), ("spec", "predictors", index, "graph", "modelUri"))
            problem = rules.rendered_uri(loaded, env, predictor, at=at)
            if problem:
                yield _reported(problem, obj=obj, target=target.name)


@check("SY506")
def rendered_replicas(ctx: CheckContext) -> Iterable[Finding]:
    for target, obj, loaded in _rendered(ctx):
        env = str(target.environment)
        undeclared = rules.replicas_declared(loaded, env)
        if undeclared:
            yield _reported(undeclared, message=f"{obj.name} runs in {env} but {undeclared.message}", obj=obj,
                            target=target.name)
            continue
        pin = _pin_of(ctx, env, obj.name)
        for index, predictor in _predictors(obj):
            at = (pin.file, pin.replicas_line or 1) if pin else (obj.source.path, obj.line_of(("spec", "predictors", index, "replicas")))
            problem = rules.rendered_replicas(loaded, env, predictor, at=at)
            if problem:
                yield _reported(problem, obj=obj, target=target.name)


def _container(predictor: dict[str, Any], name: str) -> dict[str, Any] | None:
    for component in predictor.get("componentSpecs") or []:
        spec = (component or {}).get("spec") or {}
        for container in spec.get("containers") or []:
            if isinstance(container, dict) and container.get("name") == name:
                return container
    return None


@check("SY507")
def rendered_serving(ctx: CheckContext) -> Iterable[Finding]:
    for target, obj, loaded in _rendered(ctx):
        serving = loaded.serving
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if serving.get("protocol") and obj.body.get("spec", {}).get("protocol", "seldon") != serving["protocol"]:
            problems.append((("spec", "protocol"),
                             f"protocol {obj.body.get('spec', {}).get('protocol', 'seldon')!r}, model.yaml says {serving['protocol']!r}"))
        if loaded.namespace and obj.namespace and obj.namespace != loaded.namespace:
            problems.append((("metadata", "namespace"), f"namespace {obj.namespace!r}, model.yaml says {loaded.namespace!r}"))
        for index, predictor in _predictors(obj):
            graph = as_dict(predictor.get("graph"))
            base = ("spec", "predictors", index)
            if serving.get("implementation") and graph.get("implementation") != serving["implementation"]:
                problems.append((base + ("graph", "implementation"),
                                 f"predictor {plain_name(predictor.get('name'))}: implementation {graph.get('implementation')!r}, "
                                 f"model.yaml says {serving['implementation']!r}"))
            container = _container(predictor, str(graph.get("name", "")))
            if serving.get("image"):
                image = container.get("image") if container else None
                if image != serving["image"]:
                    problems.append((base + ("componentSpecs",),
                                     f"predictor {plain_name(predictor.get('name'))}: image {image!r}, model.yaml says {serving['image']!r}"))
        gpu_problems = []
        for index, predictor in _predictors(obj):
            problem = rules.rendered_gpus(loaded, str(target.environment), predictor, at=(obj.source.path, 1))
            if problem is not None:
                gpu_problems.append((("spec", "predictors", index, "componentSpecs"), problem))
        for path, message in problems:
            yield Finding.on(obj, "SY507", f"{obj.name}: {message}", path=path,
                             hint=f"make models/{obj.name}/deploy agree with spec.serving in {loaded.rel}")
        for path, problem in gpu_problems:
            yield Finding.on(obj, problem.id, f"{obj.name}: {problem.message}", path=path, hint=problem.hint)
