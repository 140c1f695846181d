"""The rules a model version must meet to run somewhere, as pure functions.

Each rule decides one check id and returns a `Problem` (or None): `validate`
reports it as a finding (checks/models.py), a lifecycle command refuses with
it (shipyard.lifecycle). One function per decision, so a refusal in
`promote` and a finding in `validate` can never disagree. The caller says
where the fix goes (``at``): the pin line for a finding about a pin,
model.yaml for a refusal about a version.
"""

from __future__ import annotations

from typing import Any, Iterable

from shipyard.credentials import uri_credential
from shipyard.models import CANARY_PREDICTOR, SELDON_GROUP, SELDON_KIND
from shipyard.models.problem import Problem
from shipyard.models.spec import Model, Version
from shipyard.quantities import pod_spec_gpus
from shipyard.repo import Cluster
from shipyard.shapes import as_dict, as_list

Where = tuple[str, int]


def _at(model: Model, version: Version | None, at: Where | None) -> Where:
    return at if at is not None else (model.rel, version.line if version else 1)


# --------------------------------------------------------------------------
# A version, before it is pinned


def gate(model: Model, version: Version, env: str, *, at: Where | None = None) -> Problem | None:
    """SY504: ``version``'s metrics meet ``env``'s gate in model.yaml."""
    failures = model.gate_failures(version, env)
    if not failures:
        return None
    file, line = _at(model, version, at)
    return Problem("SY504", file, line, f"{model.name} {version.version} fails the {env} gate: " + "; ".join(failures),
                   hint=f"gates are in {model.rel} (spec.gates.{env}); pin a version that passes, or register a better one")


def reachable(model: Model, version: Version, env: str, *, at: Where | None = None) -> Problem | None:
    """SY508: a cluster in ``env`` can fetch the artifact (a file:// URI
    names a folder on the machine that trained it)."""
    if not version.model_uri.startswith("file://"):
        return None
    file, line = _at(model, version, at)
    return Problem("SY508", file, line,
                   f"{model.name} {version.version} lives at {version.model_uri}, a local folder no cluster in {env} can read",
                   hint="publish the artifact to gs://, s3://, https:// or a PVC and register it as a new version")


def uri_without_credentials(model: str, version: str, uri: str, *, at: Where) -> Problem | None:
    """SY321, the rule `validate` applies to every rendered URI: a modelUri
    never carries a credential (a user:password, a signed query string, a
    key), since what is registered is committed to git."""
    what = uri_credential(uri)
    if what is None:
        return None
    return Problem("SY321", at[0], at[1],
                   f"the modelUri of {model} {version} carries {what}; credentials never go into git",
                   hint="register the plain URI (s3://bucket/path, gs://bucket/path) and give the cluster its "
                        "credentials through a Secret named by envSecretRefName (docs/security.md)")


def promotion_order(model: Model, version: str, env: str, previous_env: str | None, previous_runs: str | None,
                    *, at: Where | None = None) -> Problem | None:
    """SY510: a version reaches ``env`` only once it runs in the environment
    before it (``previous_runs``: the stable version pinned there)."""
    if previous_env is None or previous_runs == version:
        return None
    file, line = _at(model, model.find(version), at)
    runs = previous_runs or "no version"
    return Problem("SY510", file, line,
                   f"{model.name} {version} is not running in {previous_env} ({previous_env} runs {runs}): "
                   f"{env} comes after {previous_env}",
                   hint=f"promote it to {previous_env} first, or pass --force --reason TEXT")


def canary_traffic(clusters: Iterable[Cluster], env: str, *, at: Where) -> Problem | None:
    """SY509: Seldon splits a canary's traffic through Istio, so every
    cluster of ``env`` must run it."""
    without = sorted(c.name for c in clusters if c.environment == env and not c.istio)
    if not without:
        return None
    files = ", ".join(f"clusters/{name}/cluster.yaml" for name in without)
    verb = "says" if len(without) == 1 else "say"
    return Problem("SY509", at[0], at[1],
                   f"canary traffic needs Istio, and {files} {verb} istio: false (environment {env})",
                   hint="install Istio there (and set istio: true), or finish or abort the canary")


def unknown_traffic(clusters: Iterable[Cluster], env: str) -> str | None:
    """A warning, not a refusal: no cluster declares ``env``, so nothing
    says whether a canary's traffic split would be honoured."""
    if any(c.environment == env for c in clusters):
        return None
    return f"no cluster in clusters/ declares environment {env}: cannot check that Istio is installed"


def replicas_declared(model: Model, env: str) -> Problem | None:
    """SY506: model.yaml says how many replicas run in ``env``."""
    if model.replicas_for(env) is not None:
        return None
    return Problem("SY506", model.rel, model.doc.line(("spec", "serving", "replicas")),
                   f"{model.rel} gives no replicas for {env}", hint=f"add `{env}: N` under spec.serving.replicas")


# --------------------------------------------------------------------------
# What a cluster receives: the rendered SeldonDeployment


def seldon_deployments(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The SeldonDeployment bodies among ``objects``."""
    return [o for o in objects if o.get("kind") == SELDON_KIND and str(o.get("apiVersion", "")).startswith(SELDON_GROUP + "/")]


def predictor_role(predictor: dict[str, Any]) -> str:
    """'canary' for the canary predictor a version component adds, else 'stable'."""
    return "canary" if predictor.get("name") == CANARY_PREDICTOR else "stable"


def predictor_gpus(predictor: dict[str, Any]) -> int:
    """GPUs one replica of ``predictor`` holds: its componentSpecs' pods,
    counted like every other pod (shipyard.quantities.pod_spec_gpus)."""
    return sum(pod_spec_gpus(as_dict(as_dict(component).get("spec"))) for component in as_list(predictor.get("componentSpecs")))


def rendered_uri(model: Model, env: str, predictor: dict[str, Any], *, at: Where) -> Problem | None:
    """SY503: a rendered predictor serves exactly the artifact model.yaml
    registers for the version it is labelled with. A predictor with no
    version label came from no version component; an unregistered version is
    SY502's to report."""
    version = as_dict(predictor.get("labels")).get("version")
    uri = as_dict(predictor.get("graph")).get("modelUri")
    if not version:
        return Problem("SY503", at[0], at[1],
                       f"{env}: predictor {predictor.get('name')} of {model.name} has no pinned version "
                       f"(modelUri {uri!r} comes from no version component)", hint="pin a version: shipyard promote")
    registered = model.find(str(version))
    if registered is None or uri == registered.model_uri:
        return None
    return Problem("SY503", at[0], at[1],
                   f"{env}: {model.name} {version} renders modelUri {uri!r}, registered is {registered.model_uri!r}",
                   hint=f"remove the patch that overrides modelUri, or run `shipyard register {model.name} --sync`")


def rendered_replicas(model: Model, env: str, predictor: dict[str, Any], *, at: Where) -> Problem | None:
    """SY506: a rendered predictor runs the replicas model.yaml gives for
    ``env`` (canaryReplicas for the canary). No replicas for ``env`` at all
    is `replicas_declared`."""
    canary = predictor_role(predictor) == "canary"
    expected = model.canary_replicas_for(env) if canary else model.replicas_for(env)
    actual = predictor.get("replicas", 1)
    if expected is None or actual == expected:
        return None
    return Problem("SY506", at[0], at[1],
                   f"{env}: {model.name} predictor {predictor.get('name')} has {actual} replica(s), {model.rel} says {expected}",
                   hint=f"shipyard promote {model.name} --to {env} rewrites it, or change {model.rel}")
