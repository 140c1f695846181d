"""Which models a kind cluster can serve: those whose artifact it can fetch.

A SeldonDeployment becomes Available only when its storage initializer
(seldonio/rclone-storage-initializer:1.17.1, ``rclone copy <modelUri>``)
downloads the model. On a kind cluster it runs with what the image sets and
nothing else: the e2e plan installs no model store credentials (a Secret
with real keys is never in git), so it reads public gs:// buckets
anonymously and nothing private. A model pinned at a private store
(``s3://shipyard-models/...``, the example store of this repository) would
sit in its init container until the suite times out and say nothing useful.

So before installing, the suite decides per model as the initializer
would: an s3:// URI has no remote (the image configures none, and the
cluster has no Secret that would), and a gs:// URI is listed by rclone
itself in exactly the initializer's situation (no AWS_* or RCLONE_*
variables but the image's anonymous gs remote, no config file): it must
list at least one object. A Secret a model names (envSecretRefName) and
the plan does not create is given as an empty stand-in, so the init
container starts and reaches what is public, as it would with real keys
for a public bucket. A model it cannot reach is taken
out of the plan and named with the reason: "deployed" means "served and
predicted", and a skip says why, never a silent pass. Everything else of
the model (its monitoring objects) is installed as usual.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from shipyard.e2e.plan import Plan, Skipped, plan_for
from shipyard.errors import ShipyardError
from shipyard.objects import K8sObject, Source

if TYPE_CHECKING:
    from shipyard.repo import Repository

SELDON_DEPLOYMENT = ("machinelearning.seldon.io", "SeldonDeployment")
# Kinds whose object of a name makes a Secret of that name (the Secret itself,
# External Secrets, Sealed Secrets).
SECRET_MAKERS = frozenset({"Secret", "ExternalSecret", "SealedSecret"})

Probe = Callable[[str], "str | None"]
"""``probe(uri)``: None when the cluster can fetch ``uri``, else why it cannot."""


@dataclass(frozen=True)
class Unreachable:
    """A model the kind cluster cannot fetch, and why."""

    obj: K8sObject
    uri: str
    reason: str

    def describe(self) -> str:
        return f"{self.obj.namespace}/{self.obj.name}: {self.uri}: {self.reason}"


def _graph_uris(node: Any) -> Iterable[tuple[str, str | None]]:
    """(modelUri, envSecretRefName) of a graph node and its children."""
    if not isinstance(node, dict):
        return
    uri = node.get("modelUri")
    if isinstance(uri, str) and uri:
        secret = node.get("envSecretRefName")
        yield uri, secret if isinstance(secret, str) and secret else None
    for child in node.get("children") or []:
        yield from _graph_uris(child)


def model_uris(obj: K8sObject) -> list[tuple[str, str | None]]:
    """Every (modelUri, envSecretRefName) of a SeldonDeployment's predictors, in order."""
    found: list[tuple[str, str | None]] = []
    for predictor in (obj.body.get("spec") or {}).get("predictors") or []:
        if isinstance(predictor, dict):
            found.extend(_graph_uris(predictor.get("graph")))
    return found


def initializer_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any credential or rclone setting,
    plus what the initializer image sets (anonymous gs): what the init
    container of a kind cluster has."""
    base = dict(os.environ if environ is None else environ)
    env = {k: v for k, v in base.items() if not k.startswith(("RCLONE_", "AWS_", "GOOGLE_", "GCLOUD_"))}
    env.update({"RCLONE_CONFIG_GS_TYPE": "google cloud storage", "RCLONE_CONFIG_GS_ANONYMOUS": "true",
                "RCLONE_RETRIES": "1", "RCLONE_LOW_LEVEL_RETRIES": "1", "RCLONE_CONTIMEOUT": "10s",
                "RCLONE_TIMEOUT": "20s"})
    return env


def rclone_probe(environ: dict[str, str] | None = None) -> Probe:
    """A probe that lists the URI with rclone (.venv-rclone) the way the kind
    cluster's initializer would reach it; answers are cached per URI."""
    from shipyard.serving.rclone import rclone_for

    answers: dict[str, str | None] = {}

    def probe(uri: str) -> str | None:
        if uri in answers:
            return answers[uri]
        scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
        if scheme == "s3":  # the image configures no s3 remote: only a Secret's RCLONE_CONFIG_S3_* would
            answers[uri] = ("the storage initializer has no s3 remote without a Secret that configures one "
                            "(RCLONE_CONFIG_S3_*), and the kind cluster has none")
            return answers[uri]
        if scheme != "gs":
            answers[uri] = (f"the storage initializer of a kind cluster cannot fetch a {scheme or 'local'} URI"
                            if scheme in ("file", "") else None)  # https://, pvc://: left to the cluster
            return answers[uri]
        clean = initializer_environment(environ)
        try:
            rclone = rclone_for(uri, None, writing=False, environ=clean)
            objects = rclone.list_files(uri)
        except ShipyardError as exc:
            answers[uri] = f"rclone without credentials cannot list it ({exc.message})"
            return answers[uri]
        answers[uri] = None if objects else "rclone without credentials lists no object there"
        return answers[uri]

    return probe


def missing_secrets(plan: Plan) -> list[tuple[str, str]]:
    """(namespace, name) of every Secret a SeldonDeployment's storage
    initializer reads (envSecretRefName) that nothing in the plan creates."""
    created = {(o.namespace, o.name) for o in plan.ordered_objects() if o.kind in SECRET_MAKERS}
    missing: list[tuple[str, str]] = []
    for obj in plan.ordered_objects():
        if (obj.group, obj.kind) != SELDON_DEPLOYMENT:
            continue
        for _uri, secret in model_uris(obj):
            key = (obj.namespace, secret or "")
            if secret is not None and key not in created and key not in missing:
                missing.append(key)
    return missing


def empty_secret(namespace: str, name: str) -> K8sObject:
    """The kind cluster's stand-in for a store credentials Secret: no keys.
    The init container starts (a missing Secret would keep it from
    starting) and reaches exactly what needs no credentials."""
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "shipyard-e2e"},
                         "annotations": {"shipyard.dev/e2e": "empty stand-in for the model store credentials: "
                                                             "only public artifacts are fetched"}}}
    return K8sObject(body, Source("(shipyard e2e: kind stand-in)"), target="kind")


def unreachable_models(plan: Plan, probe: Probe) -> list[Unreachable]:
    """The SeldonDeployments of ``plan`` whose artifacts the kind cluster cannot fetch."""
    found: list[Unreachable] = []
    for obj in plan.ordered_objects():
        if (obj.group, obj.kind) != SELDON_DEPLOYMENT:
            continue
        for uri, _secret in model_uris(obj):
            reason = probe(uri)
            if reason is not None:
                found.append(Unreachable(obj, uri, reason))
                break
    return found


def deployable(plan: Plan, probe: Probe) -> tuple[Plan, list[Unreachable]]:
    """``plan`` for a kind cluster: without the models it cannot fetch
    (listed in its ``skipped`` with the reason), and with an empty Secret
    before the first model that reads one the plan does not create."""
    gone = unreachable_models(plan, probe)
    ids = {id(u.obj) for u in gone}
    kept = [replace(step, objects=tuple(o for o in step.objects if id(o) not in ids)) for step in plan.steps]
    pruned = Plan(plan.target, plan.engine, [s for s in kept if s.objects], list(plan.skipped))
    pending = {key: empty_secret(*key) for key in missing_secrets(pruned)}
    steps = []
    for step in pruned.steps:
        objects: list[K8sObject] = []
        for obj in step.objects:
            if (obj.group, obj.kind) == SELDON_DEPLOYMENT:
                for _uri, secret in model_uris(obj):
                    stand_in = pending.pop((obj.namespace, secret), None) if secret else None
                    if stand_in is not None:
                        objects.append(stand_in)
            objects.append(obj)
        steps.append(replace(step, objects=tuple(objects)))
    skipped = [*plan.skipped, *(Skipped(u.obj, f"not deployed on kind: {u.uri}: {u.reason}") for u in gone)]
    return Plan(plan.target, plan.engine, steps, skipped), gone


def kind_plan(repo: "Repository", cluster: str, engine: str | None, probe: Probe,
              logs: Path | None = None) -> tuple[Plan, list[Unreachable]]:
    """The plan of ``cluster``'s entry point for a kind cluster: without the
    models it cannot fetch, each named with the reason on stdout and, with
    ``logs``, in logs/models-not-deployed.txt (CI uploads that folder)."""
    plan, gone = deployable(plan_for(repo, cluster, engine), probe)
    if gone:
        text = "".join(f"not deployed on kind: {u.describe()}\n" for u in gone)
        if logs is not None:
            logs.mkdir(parents=True, exist_ok=True)
            (logs / "models-not-deployed.txt").write_text(text, encoding="utf-8")
        print(text, end="")
    return plan, gone
