"""SY5xx: models and promotion gates.

A model version reaches a cluster through three files that must agree:
models/<m>/model.yaml (the registered URI and metrics), the generated
version component, and the environment's pin. These checks read them (from
``ctx.repo``) and the rendered SeldonDeployments (from the targets), and
point at the line to change: the pin for a wrong version, model.yaml for a
wrong declaration.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from shipyard import models as m
from shipyard.checks import check, describe
from shipyard.checks.context import CheckContext, RenderedTarget
from shipyard.errors import ShipyardError
from shipyard.findings import Finding
from shipyard.objects import K8sObject

describe(
    "SY510",
    "Promotion order",
    "A version reaches an environment only after the one before it in shipyard.yaml promotion.order (production "
    "after staging), so what runs in production has run somewhere first. `shipyard promote` refuses otherwise.",
    "Promote to the earlier environment first, or pass --force --reason TEXT (the reason goes in the pull request).",
)

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
    known = m.environments(ctx.repo)
    named = {t.environment for t in ctx.targets if t.environment}
    return [e for e in known if e in named] if named else known


def _models(ctx: CheckContext) -> dict[str, tuple[m.Model | None, list[m.Problem]]]:
    key = "models.loaded"
    if key not in ctx.cache:
        assert ctx.repo is not None
        ctx.cache[key] = {name: m.model_problems(ctx.repo, name) for name in m.model_names(ctx.repo)}
    return ctx.cache[key]  # type: ignore[return-value]


def _pins(ctx: CheckContext, env: str) -> dict[str, m.Pin] | m.Problem:
    key = f"models.pins.{env}"
    if key not in ctx.cache:
        assert ctx.repo is not None
        try:
            ctx.cache[key] = m.read_pins(ctx.repo, env)
        except ShipyardError as exc:
            ctx.cache[key] = m.Problem(exc.file or f"overlays/{env}/models", exc.line or 1, exc.message)
    return ctx.cache[key]  # type: ignore[return-value]


def _all_pins(ctx: CheckContext) -> Iterator[tuple[str, m.Pin]]:
    for env in _environments(ctx):
        pins = _pins(ctx, env)
        if isinstance(pins, dict):
            for pin in pins.values():
                yield env, pin


def _model(ctx: CheckContext, name: str) -> m.Model | None:
    return _models(ctx).get(name, (None, []))[0]


def _finding(check_id: str, file: str, line: int, message: str, hint: str, *, severity: str = "error",
             obj: K8sObject | None = None, target: str = "") -> Finding:
    return Finding(check=check_id, message=message, file=file, line=line, hint=hint,
                   object=obj.ref if obj else None, target=target or (obj.target if obj else ""),
                   severity=severity)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Static checks: model.yaml, components, pins


@check(
    "SY501",
    "model.yaml breaks its schema",
    "model.yaml is the one place a version's URI and metrics are written; promotion, gates and the generated "
    "components all read it. A field the schema does not know is a typo that silently does nothing.",
    "Fix the field at the line shown; the schema is documented in docs/models.md.",
)
def model_schema(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    for name, (_model_obj, problems) in sorted(_models(ctx).items()):
        for problem in problems:
            yield _finding("SY501", problem.file, problem.line, f"model {name}: {problem.message}",
                           problem.hint or "fix model.yaml (docs/models.md)")


@check(
    "SY502",
    "Pin names an unregistered version",
    "An overlay that pins a version model.yaml does not register deploys an artifact nobody vouched for (or "
    "fails to build when the component folder is gone).",
    "Pin a registered version (`shipyard promote MODEL --to ENV --version V`) or register it first.",
)
def pin_registered(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    for env in _environments(ctx):
        pins = _pins(ctx, env)
        if isinstance(pins, m.Problem):
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


@check(
    "SY504",
    "Pinned version fails the environment's gate",
    "Gates in model.yaml say what a version must score to run in an environment; a pin that skips them puts a "
    "model below the bar in front of users.",
    "Pin a version that passes, or (with the model owner) change the gate in model.yaml.",
)
def pin_gates(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    for env, pin in _all_pins(ctx):
        loaded = _model(ctx, pin.model)
        if loaded is None:
            continue
        for version, line in ((pin.stable, pin.stable_line), (pin.canary, pin.canary_line)):
            registered = loaded.find(version) if version else None
            if registered is None:
                continue
            failures = loaded.gate_failures(registered, env)
            if failures:
                yield _finding("SY504", pin.file, line,
                               f"{pin.model} {version} fails the {env} gate: " + "; ".join(failures),
                               f"gates: {loaded.rel} spec.gates.{env}")


@check(
    "SY505",
    "Version component out of sync with model.yaml",
    "models/<m>/versions/<v>/ is generated from model.yaml; edited by hand (or left behind), it deploys a "
    "modelUri that model.yaml does not say.",
    "Run `shipyard register MODEL --sync` and commit the result.",
)
def components_in_sync(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    assert ctx.repo is not None
    for name, (loaded, _problems) in sorted(_models(ctx).items()):
        if loaded is None:
            continue
        for problem in m.component_problems(ctx.repo, loaded):
            yield _finding("SY505", problem.file, problem.line, f"{name}: {problem.message}",
                           problem.hint or f"run `shipyard register {name} --sync`")


@check(
    "SY508",
    "Pinned artifact is not reachable from a cluster",
    "A file:// modelUri names a folder on the machine that ran the pipeline; Seldon's storage initializer "
    "cannot fetch it, and the predictor never starts.",
    "Publish the artifact to gs://, s3://, https:// or a PVC and register it as a new version.",
)
def pin_reachable(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    for env, pin in _all_pins(ctx):
        loaded = _model(ctx, pin.model)
        for version, line in ((pin.stable, pin.stable_line), (pin.canary, pin.canary_line)):
            registered = loaded.find(version) if loaded and version else None
            if registered and registered.model_uri.startswith("file://"):
                yield _finding("SY508", pin.file, line,
                               f"{env} pins {pin.model} {version}, whose modelUri {registered.model_uri} is a local file",
                               "register a version published to shared storage")


@check(
    "SY509",
    "Canary without Istio",
    "Seldon splits traffic between two predictors through Istio; on a cluster without it the canary's share "
    "is not honoured.",
    "Install Istio in that environment's clusters (and set istio: true in cluster.yaml), or finish/abort the canary.",
)
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
        without = sorted(c.name for c in clusters if c.environment == env and not c.istio)
        if without:
            yield _finding("SY509", pin.file, pin.canary_line,
                           f"canary {pin.model} {pin.canary} in {env}, but clusters {', '.join(without)} have istio: false",
                           f"shipyard rollout {pin.model} --env {env} --abort, or install Istio")


@check(
    "SY511",
    "Pin is ambiguous",
    "One model has one stable version per environment, and at most one canary listed right after it; two "
    "version components of one model patch the same fields and the last one silently wins.",
    "Keep one stable component (and at most one canary after it) per model in each environment.",
)
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


@check(
    "SY512",
    "Model without monitoring",
    "Staging and production models are watched: a PodMonitor scrapes Seldon's executor and PrometheusRules "
    "alert on error rate and latency. A pin without them ships a model nobody will hear fail.",
    "List ../../../../models/<m>/monitoring in the pin's resources (and write that folder; see docs/models.md).",
)
def pin_monitored(ctx: CheckContext) -> Iterable[Finding]:
    if not _applies(ctx):
        return
    assert ctx.repo is not None
    monitored = m.monitored_environments(ctx.repo)
    for env, pin in _all_pins(ctx):
        if env not in monitored:
            continue
        target = (ctx.repo.root / "models" / pin.model / "monitoring").resolve()
        folder = (ctx.repo.root / pin.file).parent
        try:
            data = m.load_yaml(ctx.repo.root / pin.file, pin.file).data or {}
        except ShipyardError:
            continue
        resources = data.get("resources") if isinstance(data, dict) else None
        listed = any(isinstance(r, str) and (folder / r).resolve() == target for r in resources or [])
        if not listed:
            yield _finding("SY512", pin.file, 1, f"{pin.model} in {env} has no monitoring (models/{pin.model}/monitoring)",
                           f"add ../../../../models/{pin.model}/monitoring to resources", severity="warning")


# --------------------------------------------------------------------------
# Rendered checks: the SeldonDeployments a cluster would receive


def _rendered(ctx: CheckContext) -> Iterator[tuple[RenderedTarget, K8sObject, m.Model]]:
    if not _applies(ctx):
        return
    for target, obj in ctx.objects():
        if not target.environment or obj.kind != m.SELDON_KIND or obj.group != m.SELDON_GROUP:
            continue
        loaded = _model(ctx, obj.name)
        if loaded is not None:
            yield target, obj, loaded


def _predictors(obj: K8sObject) -> list[tuple[int, dict[str, Any]]]:
    predictors = (obj.body.get("spec") or {}).get("predictors")
    return [(i, p) for i, p in enumerate(predictors if isinstance(predictors, list) else []) if isinstance(p, dict)]


def _pin_of(ctx: CheckContext, env: str, model: str) -> m.Pin | None:
    pins = _pins(ctx, env)
    return pins.get(model) if isinstance(pins, dict) else None


def _where(ctx: CheckContext, obj: K8sObject, env: str, role: str, path: tuple[str | int, ...]) -> tuple[str, int]:
    """The pin line when the pin is known (that is what to change), else the object."""
    pin = _pin_of(ctx, env, obj.name)
    if pin is not None:
        line = pin.canary_line if role == "canary" else pin.stable_line
        return pin.file, line or 1
    return obj.source.path, obj.line_of(path)


@check(
    "SY503",
    "Rendered modelUri differs from the registered one",
    "What the cluster receives must be the artifact model.yaml registered for the pinned version; a patch "
    "that overrides modelUri, or a predictor with no version at all, bypasses registration and gates.",
    "Remove the overriding patch; pin the version with `shipyard promote` so its component sets modelUri.",
)
def rendered_uri(ctx: CheckContext) -> Iterable[Finding]:
    for target, obj, loaded in _rendered(ctx):
        env = str(target.environment)
        for index, predictor in _predictors(obj):
            role = "canary" if predictor.get("name") == m.CANARY_PREDICTOR else "stable"
            labels = predictor.get("labels") if isinstance(predictor.get("labels"), dict) else {}
            version = labels.get("version")
            uri = (predictor.get("graph") or {}).get("modelUri") if isinstance(predictor.get("graph"), dict) else None
            path = ("spec", "predictors", index, "graph", "modelUri")
            file, line = _where(ctx, obj, env, role, path)
            if not version:
                yield _finding("SY503", file, line,
                               f"{env}: predictor {predictor.get('name')} of {obj.name} has no pinned version "
                               f"(modelUri {uri!r} comes from no version component)",
                               "pin a version: shipyard promote", obj=obj, target=target.name)
                continue
            registered = loaded.find(str(version))
            if registered is None:
                continue  # SY502
            if uri != registered.model_uri:
                yield _finding("SY503", file, line,
                               f"{env}: {obj.name} {version} renders modelUri {uri!r}, registered is {registered.model_uri!r}",
                               "remove the patch that overrides modelUri, or run `shipyard register "
                               f"{obj.name} --sync`", obj=obj, target=target.name)


@check(
    "SY506",
    "Replicas differ from model.yaml",
    "model.yaml says how many replicas a model runs per environment (spec.serving.replicas, canaryReplicas); "
    "an overlay that disagrees means capacity nobody reviewed.",
    "Re-run `shipyard promote` for that environment (it writes model.yaml's replicas), or change model.yaml.",
)
def rendered_replicas(ctx: CheckContext) -> Iterable[Finding]:
    for target, obj, loaded in _rendered(ctx):
        env = str(target.environment)
        for index, predictor in _predictors(obj):
            role = "canary" if predictor.get("name") == m.CANARY_PREDICTOR else "stable"
            expected = loaded.canary_replicas_for(env) if role == "canary" else loaded.replicas_for(env)
            actual = predictor.get("replicas", 1)
            pin = _pin_of(ctx, env, obj.name)
            file, line = (pin.file, pin.replicas_line or 1) if pin else (obj.source.path, obj.line_of(("spec", "predictors", index, "replicas")))
            if expected is None:
                yield _finding("SY506", loaded.rel, loaded.doc.line(("spec", "serving", "replicas")),
                               f"{obj.name} runs in {env} but {loaded.rel} gives no replicas for {env}",
                               f"add `{env}: N` under spec.serving.replicas", obj=obj, target=target.name)
                break
            if actual != expected:
                yield _finding("SY506", file, line,
                               f"{env}: {obj.name} predictor {predictor.get('name')} has {actual} replica(s), "
                               f"{loaded.rel} says {expected}",
                               f"shipyard promote {obj.name} --to {env} --version {(pin.stable if pin else '') or 'V'} "
                               "rewrites it", obj=obj, target=target.name)


def _container(predictor: dict[str, Any], name: str) -> dict[str, Any] | None:
    for component in predictor.get("componentSpecs") or []:
        spec = (component or {}).get("spec") or {}
        for container in spec.get("containers") or []:
            if isinstance(container, dict) and container.get("name") == name:
                return container
    return None


@check(
    "SY507",
    "SeldonDeployment disagrees with model.yaml's serving",
    "model.yaml declares how the model is served (server or image, protocol, namespace, GPUs); the deploy base "
    "must say the same, or status, GPU capacity and reviews describe something else than what runs.",
    "Make models/<m>/deploy match spec.serving in model.yaml (or the other way round).",
)
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
            graph = predictor.get("graph") if isinstance(predictor.get("graph"), dict) else {}
            base = ("spec", "predictors", index)
            if serving.get("implementation") and graph.get("implementation") != serving["implementation"]:
                problems.append((base + ("graph", "implementation"),
                                 f"predictor {predictor.get('name')}: implementation {graph.get('implementation')!r}, "
                                 f"model.yaml says {serving['implementation']!r}"))
            container = _container(predictor, str(graph.get("name", "")))
            if serving.get("image"):
                image = container.get("image") if container else None
                if image != serving["image"]:
                    problems.append((base + ("componentSpecs",),
                                     f"predictor {predictor.get('name')}: image {image!r}, model.yaml says {serving['image']!r}"))
            gpus = m.predictor_gpus(predictor)
            if gpus != loaded.gpu:
                problems.append((base + ("componentSpecs",),
                                 f"predictor {predictor.get('name')}: {gpus} GPU(s) per replica, model.yaml says {loaded.gpu}"))
        for path, message in problems:
            yield Finding.on(obj, "SY507", f"{obj.name}: {message}", path=path,
                             hint=f"make models/{obj.name}/deploy agree with spec.serving in {loaded.rel}")
