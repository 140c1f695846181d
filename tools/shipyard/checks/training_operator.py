"""SY220-SY225: the rules the Training Operator's admission webhook enforces,
checked offline.

The Training Operator v1.9.4 (kubeflow/trainer, formerly
kubeflow/training-operator) registers one validating webhook per job kind
(pkg/webhooks/<framework>/*_webhook.go, ``validate<Kind>``): PyTorchJob,
XGBoostJob, TFJob, PaddleJob and JAXJob. MPIJob's entry in
pkg/webhooks/webhooks.go is a scaffold that validates nothing, so MPIJob is
judged by its schema only. The webhooks decode the object with
controller-runtime's decoder, which applies no defaults: a Master without
``replicas`` is nil there, and refused where the rule wants exactly 1.

A Katib Experiment's trial template (``spec.trialTemplate.trialSpec``) is
judged too: Katib creates it as a job of its kind, which the same webhook
then refuses, and the trial fails instead of the Experiment's apply. Its
name is Katib's to set, so the name rule is not applied to it.

Which objects the webhook sees: the rules of the ValidatingWebhookConfiguration
the operator's manifests install (manifests/base/webhook/manifests.yaml:
``validator.<kind>.training-operator.kubeflow.org``, kubeflow.org/v1, CREATE
and UPDATE, no object or namespace selector). When that configuration is
rendered in the same target, its selectors are applied; otherwise every job
is seen. On UPDATE the webhook also refuses a changed
``runPolicy.managedBy``; the old object is not in git, so only CREATE's rules
are judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.checks.seldon import namespace_labels, selects
from shipyard.findings import Finding
from shipyard.ids import CheckId
from shipyard.objects import JsonPath, K8sObject
from shipyard.render.target import RenderedTarget
from shipyard.shapes import as_dict, as_list, dig, quoted_name

GROUP = "kubeflow.org"
WEBHOOK = "the Training Operator's admission webhook refuses this"
MANAGED_BY = ("kubeflow.org/training-operator", "kueue.x-k8s.io/multikueue")  # util.supportedJobControllers
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class JobKind:
    """What one kind's webhook knows: its replica specs field, the replica
    types it accepts (None: any), and the container it requires."""

    kind: str
    resource: str
    specs: str
    roles: tuple[str, ...] | None
    container: str


KINDS: dict[str, JobKind] = {
    k.kind: k for k in (
        JobKind("PyTorchJob", "pytorchjobs", "pytorchReplicaSpecs", ("Master", "Worker"), "pytorch"),
        JobKind("XGBoostJob", "xgboostjobs", "xgbReplicaSpecs", ("Master", "Worker"), "xgboost"),
        JobKind("TFJob", "tfjobs", "tfReplicaSpecs", None, "tensorflow"),
        JobKind("PaddleJob", "paddlejobs", "paddleReplicaSpecs", ("Master", "Worker"), "paddle"),
        JobKind("JAXJob", "jaxjobs", "jaxReplicaSpecs", ("Worker",), "jax"),
    )
}


@dataclass(frozen=True)
class Job:
    """A job the webhook judges: the object it is written in, its body, and
    where the body sits in that object (() for a job, the trial template's
    path for a Katib trial)."""

    obj: K8sObject
    body: dict[str, Any]
    at: JsonPath
    kind: JobKind

    @property
    def in_trial(self) -> bool:
        return bool(self.at)

    def where(self) -> str:
        return " (in the Experiment's trial template)" if self.in_trial else ""


def _is_webhook(webhook: dict[str, Any], resource: str) -> bool:
    for rule in map(as_dict, as_list(webhook.get("rules"))):
        if GROUP in as_list(rule.get("apiGroups")) and resource in as_list(rule.get("resources")):
            return "v1" in as_list(rule.get("apiVersions")) or "*" in as_list(rule.get("apiVersions"))
    return False


def webhook_sees(target: RenderedTarget, obj: K8sObject, kind: JobKind) -> bool:
    """Whether the API server sends ``obj`` to the kind's webhook: through
    the selectors of its rendered registration, or, when none is rendered,
    always (the upstream registration has no selectors)."""
    registrations = [
        webhook
        for config in target.objects
        if config.kind == "ValidatingWebhookConfiguration" and config.group == "admissionregistration.k8s.io"
        for webhook in map(as_dict, as_list(config.body.get("webhooks")))
        if _is_webhook(webhook, kind.resource)
    ]
    if not registrations:
        return True
    labels = {str(k): str(v) for k, v in as_dict(obj.metadata.get("labels")).items()}
    ns_labels = namespace_labels(target, obj.namespace)
    return any(selects(w.get("objectSelector"), labels) and selects(w.get("namespaceSelector"), ns_labels)
               for w in registrations)


def jobs(ctx: CheckContext) -> Iterator[Job]:
    """Every training job the webhook judges, trial templates included."""
    for target, obj in ctx.objects():
        if obj.group != GROUP:
            continue
        if obj.api_version == "kubeflow.org/v1" and obj.kind in KINDS:
            if webhook_sees(target, obj, KINDS[obj.kind]):
                yield Job(obj, obj.body, (), KINDS[obj.kind])
        elif obj.kind == "Experiment":
            trial = dig(obj.body, "spec", "trialTemplate", "trialSpec")
            trial_kind = trial.get("kind") if isinstance(trial, dict) else None
            if isinstance(trial, dict) and trial.get("apiVersion") == "kubeflow.org/v1" and isinstance(trial_kind, str) \
                    and trial_kind in KINDS:
                kind = KINDS[trial_kind]
                if webhook_sees(target, obj, kind):
                    yield Job(obj, trial, ("spec", "trialTemplate", "trialSpec"), kind)


def _refused(job: Job, check_id: CheckId, what: str, path: JsonPath, hint: str) -> Finding:
    return Finding.on(job.obj, check_id, f"{WEBHOOK}: {what}{job.where()}", path=(*job.at, *path), hint=hint)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def replica_specs(job: Job) -> Iterator[tuple[str, dict[str, Any] | None, JsonPath]]:
    """(replica type, replica spec or None, path) for every entry of the
    kind's replica specs map."""
    for role, spec in as_dict(dig(job.body, "spec", job.kind.specs)).items():
        yield str(role), spec if isinstance(spec, dict) else None, ("spec", job.kind.specs, role)


@check("SY220")
def job_names(ctx: CheckContext) -> Iterable[Finding]:
    for job in jobs(ctx):
        if job.in_trial:
            continue
        name = job.obj.name
        if not (len(name) <= 63 and DNS1035.match(name)):
            yield _refused(job, "SY220", f"{job.kind.kind} name {quoted_name(name)} is not a DNS-1035 label",
                           ("metadata", "name"),
                           "use at most 63 lower-case letters, digits and '-', starting with a letter")


@check("SY221")
def replica_types(ctx: CheckContext) -> Iterable[Finding]:
    for job in jobs(ctx):
        specs = dig(job.body, "spec", job.kind.specs)
        if not isinstance(specs, dict):
            yield _refused(job, "SY221", f"spec.{job.kind.specs} is required", ("spec",),
                           f"declare the replicas under spec.{job.kind.specs}")
            continue
        if job.kind.roles is None:
            continue
        for role, _spec, path in replica_specs(job):
            if role not in job.kind.roles:
                yield _refused(job, "SY221", f"replica type {role!r} is not supported by {job.kind.kind} "
                               f"(supported: {', '.join(job.kind.roles)})", path,
                               f"name the replica {' or '.join(job.kind.roles)}")


@check("SY222")
def replica_containers(ctx: CheckContext) -> Iterable[Finding]:
    for job in jobs(ctx):
        for role, spec, path in replica_specs(job):
            containers = as_list(dig(spec, "template", "spec", "containers"))
            c_path = (*path, "template", "spec", "containers")
            if not containers:
                yield _refused(job, "SY222", f"replica {role!r} has no containers", path,
                               "give the replica's pod template its containers")
                continue
            for index, container in enumerate(containers):
                image = as_dict(container).get("image")
                if not isinstance(image, str) or not image:
                    yield _refused(job, "SY222", f"replica {role!r} container {index} has no image",
                                   (*c_path, index), "set the container's image")


@check("SY223")
def framework_container(ctx: CheckContext) -> Iterable[Finding]:
    for job in jobs(ctx):
        wanted = job.kind.container
        for role, spec, path in replica_specs(job):
            containers = as_list(dig(spec, "template", "spec", "containers"))
            if not containers:
                continue  # SY222's
            if not any(as_dict(c).get("name") == wanted for c in containers):
                yield _refused(job, "SY223", f"replica {role!r} has no container named {wanted!r}",
                               (*path, "template", "spec", "containers"),
                               f"name the training container {wanted!r}: the operator sets its ports and "
                               "environment on that container only")


@check("SY224")
def replica_counts(ctx: CheckContext) -> Iterable[Finding]:
    for job in jobs(ctx):
        kind = job.kind.kind
        roles = dict((role, (spec, path)) for role, spec, path in replica_specs(job))
        if kind in ("PyTorchJob", "XGBoostJob"):
            master = roles.get("Master")
            replicas = master[0].get("replicas") if master is not None and master[0] is not None else None
            # A replicas of the wrong type is the schema's (SY101): the webhook never sees that object.
            if master is not None and master[0] is not None and _int(replicas) != 1 and (
                    replicas is None or _int(replicas) is not None):
                at = (*master[1], "replicas") if "replicas" in master[0] else master[1]
                yield _refused(job, "SY224", "the Master replica's replicas must be 1 (it is not defaulted "
                               "before admission)", at, "set replicas: 1 on the Master")
        if kind == "PyTorchJob":
            worker = roles.get("Worker")
            count = _int(worker[0].get("replicas")) if worker is not None and worker[0] is not None else None
            if worker is not None and count is not None and count < 1:
                yield _refused(job, "SY224", "the Worker replica's replicas must be at least 1",
                               (*worker[1], "replicas"), "set replicas to 1 or more, or drop the Worker")
        if kind == "XGBoostJob" and isinstance(dig(job.body, "spec", job.kind.specs), dict) and "Master" not in roles:
            yield _refused(job, "SY224", "an XGBoostJob must have a Master replica", ("spec", job.kind.specs),
                           "add a Master replica with replicas: 1")
        if kind == "TFJob":
            chiefs = [role for role in roles if role in ("Chief", "Master")]
            if len(chiefs) > 1:
                yield _refused(job, "SY224", "a TFJob must not have more than 1 Chief or Master role",
                               ("spec", job.kind.specs, chiefs[1]), "keep one of Chief and Master")


@check("SY225")
def run_and_elastic_policy(ctx: CheckContext) -> Iterable[Finding]:
    for job in jobs(ctx):
        managed = dig(job.body, "spec", "runPolicy", "managedBy")
        if job.kind.kind != "JAXJob" and isinstance(managed, str) and managed not in MANAGED_BY:
            yield _refused(job, "SY225", f"spec.runPolicy.managedBy {managed!r} is not supported "
                           f"(supported: {', '.join(MANAGED_BY)})", ("spec", "runPolicy", "managedBy"),
                           "drop managedBy, or name one of the supported controllers")
        if job.kind.kind != "PyTorchJob":
            continue
        elastic = dig(job.body, "spec", "elasticPolicy")
        if not isinstance(elastic, dict):
            continue
        if "Worker" not in as_dict(dig(job.body, "spec", job.kind.specs)):
            yield _refused(job, "SY225", "a Worker replica must be configured when elasticPolicy is used",
                           ("spec", "elasticPolicy"), "add a Worker replica, or drop elasticPolicy")
        if elastic.get("nProcPerNode") is not None and dig(job.body, "spec", "nprocPerNode") is not None:
            yield _refused(job, "SY225", "spec.elasticPolicy.nProcPerNode must not be used with spec.nprocPerNode",
                           ("spec", "elasticPolicy", "nProcPerNode"),
                           "keep spec.nprocPerNode (elasticPolicy.nProcPerNode is deprecated)")
