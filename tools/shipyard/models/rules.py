"""The rules a model version must meet to run somewhere, as pure functions.

Each rule decides one check id and returns a `Problem` (or None): `validate`
reports it as a finding (checks/models.py), a lifecycle command refuses with
it (shipyard.lifecycle). One function per decision, so a refusal in
`promote` and a finding in `validate` can never disagree. The caller says
where the fix goes (``at``): the pin line for a finding about a pin,
model.yaml for a refusal about a version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Literal

from shipyard.credentials import uri_credential
from shipyard.models import CANARY_PREDICTOR, SELDON_GROUP, SELDON_KIND
from shipyard.models.problem import Problem
from shipyard.models.spec import CompareRule, Model, Version
from shipyard.quantities import GpuDemand, pod_spec_gpus
from shipyard.repo import Cluster
from shipyard.shapes import as_dict, as_list, plain_name

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


Verdict = Literal["better", "same", "within", "regression", "missing"]
Data = Literal["same", "different", "unknown"]


def _num(value: float) -> str:
    """A metric or a difference as people write it: 0.06, not 0.06000000000000005."""
    return f"{round(value, 12):g}"


@dataclass(frozen=True)
class MetricChange:
    """One compared metric: the value of the version running now (the
    champion), the candidate's, and what the rule makes of the difference."""

    rule: CompareRule
    current: float | None
    candidate: float | None

    @property
    def worse_by(self) -> float | None:
        """How much worse the candidate is (positive), or None when a value is missing."""
        if self.current is None or self.candidate is None:
            return None
        return self.rule.worse_by(self.current, self.candidate)

    @property
    def verdict(self) -> Verdict:
        worse = self.worse_by
        if worse is None or self.current is None:
            return "missing"
        if worse < 0:
            return "better"
        if worse == 0:
            return "same"
        allowed = self.rule.allowed(self.current)
        # 0.97 - 0.965 is 0.0050000000000000044: a difference equal to the
        # tolerance as written is within it, whatever binary floats make of it
        if worse <= allowed or math.isclose(worse, allowed, rel_tol=1e-9, abs_tol=1e-12):
            return "within"
        return "regression"

    def describe(self) -> str:
        """The figures, for a refusal or a warning."""
        if self.current is None or self.candidate is None:
            return f"{self.rule.metric} is not reported"
        worse = self.worse_by or 0.0
        return (f"{self.rule.metric} {_num(self.current)} → {_num(self.candidate)} "
                f"({self.rule.better} is better: {_num(worse)} worse, tolerance {self.tolerance()})")

    def tolerance(self) -> str:
        """The tolerance as written, and what a percentage comes to here."""
        if self.rule.relative and self.current is not None:
            return f"{self.rule.tolerance:g}% = {_num(self.rule.allowed(self.current))}"
        return _num(self.rule.tolerance)


@dataclass(frozen=True)
class Comparison:
    """A candidate against the version an environment runs now, metric by
    metric (spec.compare), and whether their metrics were measured on the
    same evaluation data."""

    env: str
    current: Version
    candidate: Version
    changes: tuple[MetricChange, ...]
    data: Data

    @property
    def judged(self) -> bool:
        """Whether the figures can say which version is better: not when the
        two were measured on different data."""
        return self.data != "different"

    @property
    def worse(self) -> list[MetricChange]:
        """Every compared metric that got worse, within its tolerance or not."""
        return [c for c in self.changes if c.verdict in ("within", "regression")]

    @property
    def refused(self) -> list[MetricChange]:
        """What stops the promotion: a regression on comparable data, or a
        compared metric either version does not report."""
        return [c for c in self.changes
                if c.verdict == "missing" or (c.verdict == "regression" and self.judged)]


def evaluation_data(current: Version, candidate: Version) -> Data:
    """Whether two versions' metrics come from the same data: "same" when
    both record their evaluation data and its digest is the same,
    "different" when both record it and it differs, "unknown" when either
    does not record it (a version registered without --dataset-digest)."""
    if current.evaluation is None or candidate.evaluation is None:
        return "unknown"
    return "same" if current.evaluation.digest == candidate.evaluation.digest else "different"


def compare_versions(model: Model, candidate: Version, current: Version, env: str) -> Comparison:
    """``candidate`` against ``current`` (what ``env`` runs now) under
    model.yaml's spec.compare rules for ``env``."""
    changes = tuple(MetricChange(rule, current.metrics.get(rule.metric), candidate.metrics.get(rule.metric))
                    for rule in model.compare_rules(env))
    return Comparison(env, current, candidate, changes, evaluation_data(current, candidate))


def regression(model: Model, candidate: Version, current: Version, env: str, *,
               at: Where | None = None) -> Problem | None:
    """SY513: ``candidate`` is not worse than ``current``, the version
    ``env`` runs now, beyond the tolerance of any metric spec.compare
    names, in that metric's direction. A compared metric that either version
    does not report cannot be judged, and is a problem too. Measured on
    different evaluation data, the figures cannot say which is better, so a
    worse figure is no problem (the caller says so); measured on data either
    version did not record, they are compared as they are."""
    comparison = compare_versions(model, candidate, current, env)
    refused = comparison.refused
    if not refused:
        return None
    parts = []
    for change in refused:
        if change.verdict == "missing":
            lacking = [v.version + (" (running now)" if v is current else "")
                       for v, value in ((current, change.current), (candidate, change.candidate)) if value is None]
            parts.append(f"{change.rule.metric} is not reported by {' and '.join(lacking)} "
                         f"(spec.compare compares it)")
        else:
            parts.append(change.describe())
    file, line = _at(model, candidate, at)
    where = f"{model.rel}:{refused[0].rule.line}"
    what = "is worse than" if any(c.verdict == "regression" for c in refused) else "cannot be compared with"
    return Problem("SY513", file, line,
                   f"{model.name} {candidate.version} {what} {current.version}, which {env} runs now: " + "; ".join(parts),
                   hint=f"promote a version at least as good (the rules are spec.compare in {where}), or pass "
                        "--accept-regression --reason TEXT: the reason goes into the commit and the pull request")


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


def rendered_gpus(model: Model, env: str, predictor: dict[str, Any], *, at: Where) -> Problem | None:
    """SY507: a rendered predictor's pods hold the GPUs model.yaml gives
    for ``env`` (spec.serving.gpu), counted like every pod (`predictor_gpus`)."""
    gpus, expected = predictor_gpus(predictor), model.gpu_for(env)
    if gpus == expected:
        return None
    return Problem("SY507", at[0], at[1],
                   f"{env}: predictor {plain_name(predictor.get('name'))}: {gpus} GPU(s) per replica, {model.rel} says {expected}",
                   hint=f"GPUs come from spec.serving.gpu through the pin's generated patch: remove nvidia.com/gpu "
                        f"from models/{model.name}/deploy and run `shipyard register {model.name} --sync`")


def rendered_uri(model: Model, env: str, predictor: dict[str, Any], *, at: Where) -> Problem | None:
    """SY503: a rendered predictor serves exactly the artifact model.yaml
    registers for the version it is labelled with. A predictor with no
    version label came from no version component; an unregistered version is
    SY502's to report."""
    version = as_dict(predictor.get("labels")).get("version")
    uri = as_dict(predictor.get("graph")).get("modelUri")
    if not version:
        return Problem("SY503", at[0], at[1],
                       f"{env}: predictor {plain_name(predictor.get('name'))} of {model.name} has no pinned version "
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
                   f"{env}: {model.name} predictor {plain_name(predictor.get('name'))} has {actual} replica(s), {model.rel} says {expected}",
                   hint=f"shipyard promote {model.name} --to {env} rewrites it, or change {model.rel}")


# --------------------------------------------------------------------------
# What a cluster can hold


def gpu_capacity(cluster: Cluster, demands: Iterable[GpuDemand], *, at: Where) -> Problem | None:
    """SY304: the GPUs everything a cluster runs asks for (each pod's GPUs
    times its replicas at most) fit in the GPUs it owns (spec.gpu.capacity).
    `validate` reports it on what is rendered; `promote` refuses with it on
    what the environment would render after the change, so the two cannot
    disagree."""
    consumers = sorted((d for d in demands if d.total > 0), key=lambda d: (-d.total, d.what))
    total = sum(d.total for d in consumers)
    if total <= cluster.gpu_capacity:
        return None
    listed = "; ".join(d.describe() for d in consumers[:5]) + ("; ..." if len(consumers) > 5 else "")
    return Problem("SY304", at[0], at[1],
                   f"cluster {cluster.name!r} has {cluster.gpu_capacity} GPU(s) but its workloads request {total} "
                   f"(GPUs x replicas): {listed}",
                   hint="lower GPU requests or replicas, or raise spec.gpu.capacity when GPU nodes were added")
