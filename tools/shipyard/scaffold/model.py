"""new model: models/<name>/model.yaml, deploy/ and monitoring/, in the
shapes models/iris uses, with no version registered yet.

The declaration is checked by the same schema and rules `validate` uses
(SY501) before anything is written, so a bad --server, --protocol or
--image is refused with the flag to fix. Nothing outside models/<name> is
touched: the model reaches an environment when `shipyard promote` first
pins a registered version there, which writes the pin and adds the model to
overlays/<env>/models/kustomization.yaml itself. Listing it there sooner
would make every environment render a SeldonDeployment with no artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard import git, ids
from shipyard.checks.policy_images import image_problem
from shipyard.checks.policy_serving import PRODUCTION
from shipyard.errors import ShipyardError
from shipyard.lifecycle.plan import Plan, Rendered, Verify
from shipyard.models.rules import seldon_deployments
from shipyard.models.spec import (
    model_schema,
    parse_model_text,
    schema_problems,
    semantic_problems,
)
from shipyard.repo import Repository
from shipyard.scaffold import model_text
from shipyard.scaffold.common import refuse_existing, require_dns_label, what_changes
from shipyard.scaffold.model_text import ModelFacts

# The protocol a prepackaged server speaks unless told otherwise.
V2_ONLY = ("TRITON_SERVER", "HUGGINGFACE_SERVER", "TEMPO_SERVER")
# Fields of model.yaml and the flag that sets them, for the errors.
FLAGS = {"implementation": "--server", "image": "--image", "protocol": "--protocol", "owner": "--owner",
         "gpu": "--gpus", "description": "--description", "name": "NAME"}


def servers() -> list[str]:
    """The prepackaged servers model.yaml accepts, from its schema (the one list)."""
    return list(model_schema()["$defs"]["serving"]["properties"]["implementation"]["enum"])


def _server(value: str) -> str:
    name = value.strip().upper()
    known = servers()
    if name in known:
        return name
    hint = f"prepackaged servers (Seldon Core 1.17): {', '.join(known)}; or --image for a custom server"
    if name in ("MLSERVER", "MLSERVER_SERVER"):
        hint = ("Seldon Core 1.17 has no MLSERVER implementation: MLServer is what SKLEARN_SERVER, XGBOOST_SERVER "
                "and MLFLOW_SERVER run for the v2 protocol, e.g. --server SKLEARN_SERVER --protocol v2")
    raise ShipyardError(f"--server {value!r} is not a prepackaged server", hint=hint, check=ids.USAGE)


def _owner(repo: Repository, owner: str | None) -> str:
    """--owner, else the address git commits with here: someone must answer
    for the model (spec.owner is shown in every pull request)."""
    if owner is None:
        owner = git.git(repo.root, "config", "user.email", check=False).strip() or None
    if owner is None:
        raise ShipyardError("who owns the model? pass --owner TEAM-OR-EMAIL",
                            hint="spec.owner is required; it is shown in every pull request of the model",
                            check=ids.USAGE)
    owner = owner.strip()
    if not owner or "\n" in owner:
        raise ShipyardError(f"--owner {owner!r} is empty or spans lines", check=ids.USAGE)
    return owner


def _gpus_per_environment(repo: Repository, gpus: int | dict[str, int]) -> dict[str, int]:
    """--gpus as a count per environment: one number for all, or ENV=N for
    some (the others 0). An environment that runs no models is refused."""
    environments = repo.model_environments()
    if isinstance(gpus, dict):
        unknown = sorted(set(gpus) - set(environments))
        if unknown:
            raise ShipyardError(f"--gpus names {', '.join(unknown)}, which run no models",
                                hint=f"environments: {', '.join(environments)}", check=ids.USAGE)
        counts = {env: gpus.get(env, 0) for env in environments}
    else:
        counts = {env: gpus for env in environments}
    for env, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ShipyardError(f"--gpus must be a whole number of GPUs per replica (0 or more), not {count!r} for {env}",
                                check=ids.USAGE)
    return counts


def _replicas(repo: Repository, gpus: dict[str, int]) -> tuple[dict[str, int], list[str]]:
    """Replicas per environment as iris has them: 2 in production (SY307
    wants two there to survive a node drain), 1 elsewhere; 0 where a GPU
    model cannot run, because no cluster of the environment has that many
    GPUs."""
    replicas: dict[str, int] = {}
    without: list[str] = []
    clusters = repo.clusters()
    for env in repo.model_environments():
        count = 2 if env == PRODUCTION else 1
        theirs = [c for c in clusters if c.environment == env]
        wanted = gpus.get(env, 0)
        if wanted and theirs and all(c.gpu_capacity < wanted for c in theirs):
            count = 0
            without.append(env)
        replicas[env] = count
    return replicas, without


def _gpu_summary(per_env: dict[str, int]) -> str:
    if not any(per_env.values()):
        return ""
    counts = set(per_env.values())
    if len(counts) == 1:
        return f", {counts.pop()} GPU(s) per replica"
    return ", GPUs per replica: " + ", ".join(f"{env} {count}" for env, count in per_env.items())


def _operator_sets_probes(implementation: str | None, protocol: str) -> bool:
    """True when seldon-core's operator gives the container MLServer's own
    HTTP probes and drops any written in deploy/ (operator/controllers/
    mlserver.go): prepackaged servers that run on MLServer under v2."""
    from shipyard.serving.runtimes import MLSERVER, RUNTIMES, V2_PROTOCOLS

    if implementation is None or protocol not in V2_PROTOCOLS:
        return False
    runtime = RUNTIMES.get((implementation, "v2"))
    return runtime is not None and runtime.local == MLSERVER


def _store_secret(repo: Repository) -> str | None:
    """The Secret the storage initializer reads the model store's
    credentials from (shipyard.yaml modelStore.secretName), so a new model
    can fetch its versions from a private store without a hand edit."""
    store = repo.settings.model_store
    return store.secret_name if store else None


def _flag_of(message: str) -> str:
    for part in message.replace(":", ".").split("."):
        if part.strip() in FLAGS:
            return FLAGS[part.strip()]
    return "the arguments"


def _check(repo: Repository, name: str, text: str) -> None:
    """The new model.yaml against the schema and rules `validate` applies,
    each problem named by the flag that causes it."""
    rel = f"models/{name}/model.yaml"
    doc = parse_model_text(text, rel)
    problems = schema_problems(doc, rel) or semantic_problems(doc, rel, name, repo.model_environments())
    if problems:
        said = "; ".join(f"{_flag_of(p.message)}: {p.message}" for p in problems)
        raise ShipyardError(f"the model would be invalid: {said}", hint="see docs/models.md for what each field takes",
                            check=ids.USAGE)


def _verify(name: str) -> Verify:
    """After writing: the deploy base builds to exactly one SeldonDeployment
    named after the model (the version components patch it by that name)."""

    def verify(repo: Repository, rendered: Rendered) -> None:
        deploy = repo.root / "models" / name / "deploy"
        sds = [o for o in seldon_deployments(rendered.get(deploy, [])) if (o.get("metadata") or {}).get("name") == name]
        if len(sds) != 1:
            raise ShipyardError(f"models/{name}/deploy builds {len(sds)} SeldonDeployment(s) named {name}, expected 1",
                                file=f"models/{name}/deploy", check=ids.USAGE)

    return verify


def plan_new_model(repo: Repository, name: str, *, server: str | None = None, image: str | None = None,
                   gpus: int | dict[str, int] = 0, owner: str | None = None, protocol: str | None = None,
                   description: str | None = None) -> Plan:
    """The files of model ``name``: served by a prepackaged ``server`` or a
    custom ``image`` (exactly one), ``gpus`` per replica (one count, or one
    per environment), with no version registered. The deploy base is the CPU
    shape: the pin of an environment with GPUs adds the GPU limit, node
    selector and tolerations from its clusters (shipyard.models.gpus), so no
    GPU fact is ever copied into the model's files. Refuses a bad name, an existing models/<name>, and anything
    model.yaml's schema would reject."""
    require_dns_label("model", name)
    if (server is None) == (image is None):
        raise ShipyardError("give exactly one of --server (a prepackaged server) or --image (a custom server image)",
                            hint=f"e.g. --server SKLEARN_SERVER; servers: {', '.join(servers())}", check=ids.USAGE)
    implementation = _server(server) if server is not None else None
    image = image.strip() if image is not None else None
    if image is not None and image_problem(image):
        raise ShipyardError(f"--image: {image_problem(image)}",
                            hint="pin a version tag (registry/name:1.4.2) or a digest (registry/name@sha256:...)",
                            check=ids.USAGE)
    protocol = (protocol or ("v2" if implementation in V2_ONLY else "seldon")).strip().lower()
    if protocol not in model_text.PROBES:
        raise ShipyardError(f"--protocol {protocol!r} is not a protocol", hint="seldon, v2 or tensorflow",
                            check=ids.USAGE)
    folder = repo.root / "models" / name
    refuse_existing(repo, [folder], what=f"model {name}")
    environments = repo.model_environments()
    if not environments:
        raise ShipyardError("the repository has no environment that runs models (overlays/<env>/models)",
                            check=ids.USAGE)
    per_env = _gpus_per_environment(repo, gpus)
    replicas, without = _replicas(repo, per_env)
    gpu: int | dict[str, int] = per_env if isinstance(gpus, dict) else gpus
    served_by = implementation or f"the image {image}"
    facts = ModelFacts(
        name=name, owner=_owner(repo, owner), description=(description or f"{name}, served by {served_by}.").strip(),
        protocol=protocol, implementation=implementation, image=image, gpu=gpu, replicas=replicas,
        canary_replicas={env: max(1, count) for env, count in replicas.items()}, no_gpu_envs=tuple(without),
        operator_probes=_operator_sets_probes(implementation, protocol), store_secret=_store_secret(repo))
    model_yaml = model_text.model_yaml(facts)
    _check(repo, name, model_yaml)
    files: dict[Path, str] = {
        folder / "model.yaml": model_yaml,
        folder / "deploy" / "kustomization.yaml": model_text.deploy_kustomization(facts),
        folder / "deploy" / "seldondeployment.yaml": model_text.seldondeployment(facts),
        folder / "monitoring" / "kustomization.yaml": model_text.monitoring_kustomization(facts),
        folder / "monitoring" / "podmonitor.yaml": model_text.podmonitor(facts),
        folder / "monitoring" / "prometheusrule.yaml": model_text.prometheusrule(facts),
        folder / "monitoring" / "tests" / "alerts.yaml": model_text.alert_tests(facts),
    }
    warnings = [f"{name} gets 0 replicas in {env}: no cluster there has {per_env[env]} GPU(s)" for env in without]
    first = environments[0]
    lines = [f"- Model: `{name}` (owner: {facts.owner}), served by {served_by}, protocol {protocol}"
             + _gpu_summary(per_env),
             "- Replicas: " + ", ".join(f"{env} {count}" for env, count in replicas.items()),
             "- No version registered yet; no environment lists it until `shipyard promote` pins one"]
    sections = [what_changes(lines), "\n".join([
        "## Next steps", "",
        f"- `shipyard register {name} --version V --uri URI --metrics FILE` adds the first version",
        f"- `shipyard promote {name} --to {first}` deploys it there (and adds it to `overlays/{first}/models`)",
        f"- add `spec.gates` to `models/{name}/model.yaml` before it goes further than {first}"])]
    return Plan(action="new-model", model=name, title=f"New model {name}", branch=f"new/model-{name}", files=files,
                sections=sections, render=[folder / "deploy", folder / "monitoring"], verify=_verify(name),
                warnings=warnings, noop=f"model {name} already exists")
