"""Every check id, as data: its title, why it exists, how to fix what it
reports, and its family.

Ids are the words every command, document, waiver and test share, so they
live at the bottom layer, once. ``CheckId`` is the type of an id: the type
checker refuses an id that is not listed here, and tests/unit/test_ids.py
checks that every id the code raises is listed with the meaning it is raised
for. docs/checks.md is generated from this catalogue
(``python -m shipyard.checks.doc``).

Families: SY1xx schema and strictness, SY2xx Seldon's admission rules, SY3xx
policies, SY4xx cross-references, SY5xx models and promotion gates, SY9xx
environment and bad input (these stop a command with exit code 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal, get_args

CheckId = Literal[
    "SY101", "SY102", "SY103", "SY104", "SY105", "SY106", "SY201", "SY202", "SY203", "SY204", "SY205",
    "SY206", "SY207", "SY301", "SY302", "SY303", "SY304", "SY305", "SY306", "SY307", "SY308", "SY309",
    "SY310", "SY311", "SY312", "SY313", "SY314", "SY315", "SY316", "SY320", "SY321", "SY322", "SY390",
    "SY391", "SY401", "SY402", "SY403", "SY404", "SY405", "SY406", "SY407", "SY408", "SY501", "SY502",
    "SY503", "SY504", "SY505", "SY506", "SY507", "SY508", "SY509", "SY510", "SY511", "SY512", "SY900",
    "SY901", "SY902", "SY903", "SY904", "SY905", "SY906", "SY910", "SY911", "SY912", "SY913",
    "SY914",
]


class Family(Enum):
    """A family of checks: the first digit of the id says which."""

    SCHEMA = ("SY1", "Schema and strictness")
    SELDON = ("SY2", "Seldon admission rules")
    POLICY = ("SY3", "Policies")
    CROSS_REFERENCE = ("SY4", "Cross-references")
    MODEL = ("SY5", "Models and promotion gates")
    ENVIRONMENT = ("SY9", "Environment and bad input")

    @property
    def prefix(self) -> str:
        return self.value[0]

    @property
    def title(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class IdInfo:
    """What one id means, as docs/checks.md shows it."""

    id: CheckId
    family: Family
    title: str
    rationale: str
    hint: str
    raised_in: tuple[str, ...]  # the modules (under shipyard.) that report it, for what it means


def _id(id: CheckId, family: Family, title: str, rationale: str, hint: str, *, raised_in: tuple[str, ...]) -> IdInfo:
    if not id.startswith(family.prefix):
        raise ValueError(f"{id} is not in family {family.name} ({family.prefix}xx)")
    return IdInfo(id, family, title, rationale, hint, raised_in)


_ENTRIES = (
    _id("SY101", Family.SCHEMA,
        "Schema violation",
        "The API server refuses an object whose fields have the wrong type, a value outside the allowed set "
        "or a missing required field; in a GitOps repository that refusal only shows after merge, when the "
        "sync fails.",
        "Fix the field named in the message; `kubectl explain` describes it.",
        raised_in=("checks.schema",)),
    _id("SY102", Family.SCHEMA,
        "Unknown field",
        "A misspelt or misplaced field is dropped silently by the API server without strict validation: the "
        "setting you wrote never takes effect (an imagePullPolcy, a nodeselector).",
        "Fix the spelling or the indentation, or remove the field.",
        raised_in=("checks.schema",)),
    _id("SY103", Family.SCHEMA,
        "Duplicate key",
        "YAML readers keep only the last of two equal keys, so the first value is silently lost; it is almost"
        " always a merge or copy-paste mistake.",
        "Remove one of the two keys.",
        raised_in=("lifecycle.register", "load", "render.preflight")),
    _id("SY104", Family.SCHEMA,
        "Not a Kubernetes object",
        "A document without apiVersion, kind or metadata.name cannot be applied; it is usually a values file "
        "or a fragment in the wrong folder.",
        "Add apiVersion, kind and metadata.name, or move the file out of the manifests.",
        raised_in=("checks.schema", "load")),
    _id("SY105", Family.SCHEMA,
        "Unknown kind",
        "An object whose kind the cluster does not serve (a removed apiVersion, a typo, a custom resource "
        "whose CRD is not installed) fails to apply, and nothing checks its fields.",
        "Fix apiVersion/kind, or install (or pin) the CRD that defines it.",
        raised_in=("checks.schema",)),
    _id("SY106", Family.SCHEMA,
        "Schemas of another Kubernetes version",
        "When no schemas ship for a cluster's exact Kubernetes version, the nearest older version is used: "
        "fields new in the cluster's version may be reported as unknown.",
        "Upgrade kubernetes-validate, or check the findings against the cluster's version by hand.",
        raised_in=("checks.schema",)),
    _id("SY201", Family.SELDON,
        "Seldon traffic does not sum to 100",
        "seldon-core's admission webhook refuses a SeldonDeployment whose non-shadow predictors' traffic does"
        " not sum to 100 (or whose single predictor sets traffic below 100): the sync fails after merge.",
        "Make the traffic of all non-shadow predictors add up to 100 (a single predictor may leave traffic "
        "out).",
        raised_in=("checks.seldon",)),
    _id("SY202", Family.SELDON,
        "Seldon shadow predictor misused",
        "seldon-core's admission webhook allows at most one shadow predictor, never a shadow as the only "
        "predictor, and a shadow's traffic only within [0, 100].",
        "Keep one shadow next to at least one live predictor; remove or merge the extra shadows.",
        raised_in=("checks.seldon",)),
    _id("SY203", Family.SELDON,
        "Seldon prepackaged server misconfigured",
        "seldon-core's admission webhook refuses a prepackaged server (SKLEARN_SERVER, XGBOOST_SERVER, "
        "TENSORFLOW_SERVER, MLFLOW_SERVER, TRITON_SERVER, ...) without a modelUri, one the operator has no "
        "image for, and SKLEARN/XGBOOST/MLFLOW/HUGGINGFACE servers under the tensorflow protocol.",
        "Set the node's modelUri (in this repository: pin a registered model version), use an implementation "
        "listed in the operator's predictor_servers, or give the container an image.",
        raised_in=("checks.seldon",)),
    _id("SY204", Family.SELDON,
        "Seldon predictor names not unique",
        "seldon-core's admission webhook refuses two predictors with the same name: they would share one "
        "Deployment and Service name.",
        "Give every predictor of a SeldonDeployment its own name.",
        raised_in=("checks.seldon",)),
    _id("SY205", Family.SELDON,
        "Seldon graph node without a container",
        "seldon-core's admission webhook refuses a graph node that is not a prepackaged server unless a "
        "container of the same name is in that predictor's componentSpecs: nothing would run the node.",
        "Add a container named like the node to the predictor's componentSpecs, or give the node a "
        "prepackaged implementation.",
        raised_in=("checks.seldon",)),
    _id("SY206", Family.SELDON,
        "Seldon deployment settings invalid",
        "seldon-core's admission webhook refuses an unknown protocol, transport or serverType, a kafka server"
        " without its topics, and a deployment with no predictors.",
        "Use protocol seldon|tensorflow|kfserving|v2, transport rest|grpc, serverType rpc|kafka (kafka needs "
        "KAFKA_BROKER, KAFKA_INPUT_TOPIC and KAFKA_OUTPUT_TOPIC in each predictor's svcOrchSpec.env).",
        raised_in=("checks.seldon",)),
    _id("SY207", Family.SELDON,
        "Seldon inference graph invalid",
        "seldon-core's admission webhook refuses a logger without a mode, a custom node of UNKNOWN_TYPE "
        "without methods, a multi-node graph in a predictor annotated seldon.io/no-engine, and mixed endpoint"
        " types.",
        "Set logger.mode; give UNKNOWN_TYPE nodes their methods; drop seldon.io/no-engine for multi-node "
        "graphs; use one endpoint type, matching spec.transport.",
        raised_in=("checks.seldon",)),
    _id("SY301", Family.POLICY,
        "Image not pinned",
        "An image without a tag, or tagged :latest, changes under a running deployment: a node pulls a new "
        "build on restart, a rollback does not roll back, and a pull request's diff no longer says what runs.",
        "Pin a version tag (image:1.4.2) or a digest (image@sha256:...).",
        raised_in=("checks.policy_images",)),
    _id("SY302", Family.POLICY,
        "Container without requests and limits",
        "Requests are what the scheduler packs nodes by and limits keep one workload's leak from evicting its"
        " neighbours; a container without them is scheduled blind and is the first to be killed under "
        "pressure.",
        "Set resources.requests and resources.limits for cpu and memory on every container (for a prepackaged"
        " Seldon server, declare its container by name in componentSpecs).",
        raised_in=("checks.policy_resources",)),
    _id("SY303", Family.POLICY,
        "GPU pod not scheduled onto GPU nodes",
        "A pod that requests nvidia.com/gpu without the GPU nodes' node selector and tolerations stays "
        "Pending, or lands on a node without the device plugin; the cluster's GPU nodes are described once, "
        "in its cluster.yaml.",
        "Add the nodeSelector and tolerations listed under spec.gpu in clusters/<cluster>/cluster.yaml to the"
        " pod.",
        raised_in=("checks.policy_gpu",)),
    _id("SY304", Family.POLICY,
        "GPU requests exceed the cluster's capacity",
        "Every GPU requested, times the replicas that run (an autoscaler's maximum), must fit in the GPUs the"
        " cluster owns; otherwise the last rollout or scale-up stays Pending with no error in git.",
        "Lower GPU requests or replicas, or raise spec.gpu.capacity in clusters/<cluster>/cluster.yaml when "
        "nodes were added.",
        raised_in=("checks.policy_gpu",)),
    _id("SY305", Family.POLICY,
        "Plaintext Secret in git",
        "A Secret's data is base64, not encryption: committed, it is readable by everyone with clone access "
        "and stays in history forever. (A Secret a chart generates at render time is not in git and is not "
        "judged.)",
        "Encrypt it with SOPS, or replace it with a SealedSecret or an ExternalSecret; rotate the value if it"
        " was ever pushed.",
        raised_in=("checks.policy_secrets",)),
    _id("SY306", Family.POLICY,
        "Serving container without probes",
        "Seldon gives a graph container without probes a TCP check on its port, which passes while the model "
        "is still loading: a rollout sends traffic to pods that answer errors, and a hung server is never "
        "restarted.",
        "Give every serving container a readinessProbe and a livenessProbe on the model server's health "
        "endpoint (Seldon protocol: /health/ping; v2 protocol: /v2/health/ready and /v2/health/live).",
        raised_in=("checks.policy_serving",)),
    _id("SY307", Family.POLICY,
        "Production model with fewer than 2 replicas",
        "With one replica, every node drain, eviction or rollout of a production model is an outage.",
        "Run at least 2 replicas (the predictor's replicas, or hpaSpec.minReplicas) in the production "
        "overlay.",
        raised_in=("checks.policy_serving",)),
    _id("SY308", Family.POLICY,
        "Production model without a PodDisruptionBudget",
        "Without a PodDisruptionBudget a node-pool upgrade may drain every replica of a model at once.",
        "Set componentSpecs[].pdbSpec (minAvailable: 1), or add a policy/v1 PodDisruptionBudget whose "
        "selector matches a label declared in componentSpecs[].metadata.labels.",
        raised_in=("checks.policy_serving",)),
    _id("SY309", Family.POLICY,
        "Privileged container",
        "A privileged container has every capability and every device of its node: escaping it is owning the "
        "node and every workload on it.",
        "Drop securityContext.privileged; grant only the specific capabilities the process needs.",
        raised_in=("checks.policy_security",)),
    _id("SY310", Family.POLICY,
        "hostPath volume",
        "A hostPath volume reads or writes the node's own filesystem: it breaks isolation between pods and "
        "ties the pod to one node's disk.",
        "Use a PersistentVolumeClaim, an emptyDir, a ConfigMap or a CSI volume instead.",
        raised_in=("checks.policy_security",)),
    _id("SY311", Family.POLICY,
        "Pod shares the host's namespaces",
        "hostNetwork (and hostPID, hostIPC) put the pod in the node's own namespaces: it can bind node ports,"
        " sniff traffic and bypass every NetworkPolicy.",
        "Remove hostNetwork/hostPID/hostIPC; expose the pod through a Service.",
        raised_in=("checks.policy_security",)),
    _id("SY312", Family.POLICY,
        "Model namespace without a default-deny NetworkPolicy",
        "Without a default-deny policy every pod in the cluster can call a model's predict endpoint and its "
        "metrics; allowed traffic should be the exception that a policy names.",
        "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] to the namespace, then allow the"
        " ingress gateway and monitoring explicitly.",
        raised_in=("checks.policy_security",)),
    _id("SY313", Family.POLICY,
        "Wildcard RBAC",
        "A '*' in an RBAC rule grants verbs, resources or API groups that do not exist yet (including ones "
        "that escalate, like impersonate or escalate); access should name what it needs.",
        "List the apiGroups, resources and verbs explicitly.",
        raised_in=("checks.policy_security",)),
    _id("SY314", Family.POLICY,
        "apiVersion removed in the cluster's Kubernetes version",
        "The API server of the target cluster no longer serves this apiVersion: the sync fails on apply, or "
        "on the next upgrade of that cluster.",
        "Move the object to the replacement apiVersion (and its schema); for a chart, upgrade the chart pin.",
        raised_in=("checks.policy_apis",)),
    _id("SY315", Family.POLICY,
        "apiVersion deprecated in the cluster's Kubernetes version",
        "A deprecated apiVersion still applies today and is removed by a later Kubernetes (or operator) "
        "release; moving before the upgrade keeps the upgrade a non-event.",
        "Move the object to the replacement apiVersion before the cluster is upgraded.",
        raised_in=("checks.policy_apis",)),
    _id("SY316", Family.POLICY,
        "Pod refused by its namespace's Pod Security level",
        "Pod Security Admission refuses every pod that breaks the level its namespace enforces "
        "(pod-security.kubernetes.io/enforce, at enforce-version). For a Deployment, Job or operator the "
        "object itself is accepted and only its pods are refused, later and silently to GitOps: a chart "
        "upgrade or a new model can add such a pod. Every rendered pod template (Pods, Deployments, "
        "StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, Helm and Argo CD hooks, chart and remote-base"
        " objects alike, training jobs, SeldonDeployment componentSpecs) is evaluated against the baseline or"
        " restricted standard of its namespace, as the rules stand at the namespace's pinned version (latest:"
        " the cluster's). A namespace without an enforce label is privileged: nothing is checked; a namespace"
        " not rendered in the same overlay or entry point is not judged. SeldonDeployments are checked as far"
        " as componentSpecs describe the pod: seldon-core's operator adds what the manifest does not show, "
        "the executor container (seldon-container-engine, whose only securityContext is runAsUser 8888), the "
        "storage initializer init container (no securityContext) and the containers of prepackaged servers "
        "not declared in componentSpecs; mutating webhooks (Istio's istio-init and sidecar) add more. None of"
        " these meets restricted, so a SeldonDeployment that passes here can still be refused in a restricted"
        " namespace. Exemptions and defaults in the API server's own admission configuration are not visible "
        "either.",
        "Give the container or pod the securityContext the level requires (the finding names the field and "
        "the value); if the workload truly needs more, lower the namespace's enforce level and record why in "
        "docs/security.md.",
        raised_in=("checks.policy_pod_security",)),
    _id("SY320", Family.POLICY,
        "Credential in chart values",
        "Chart values are plain text in git, and Flux and Argo CD carry them in ConfigMaps and Applications "
        "that any reader of the namespace can see.",
        "Put the credential in an encrypted Secret (SOPS, SealedSecret, ExternalSecret) and pass it with "
        "valuesFrom a Secret or the chart's existingSecret option.",
        raised_in=("checks.policy_credentials",)),
    _id("SY321", Family.POLICY,
        "Credential in a URI",
        "A key in an s3:// URI, a token in a URL's user or a signed query string is a credential written into"
        " git, model registries and logs.",
        "Use a URI without credentials and give the workload access through a Secret (envSecretRefName for "
        "Seldon's storage initializer) or workload identity.",
        raised_in=("checks.policy_credentials", "models.rules")),
    _id("SY322", Family.POLICY,
        "Credential in a ConfigMap",
        "ConfigMaps are not secret: readable by anyone with read access to the namespace, printed by kubectl,"
        " and kept in plain text in git.",
        "Move the value to an encrypted Secret (SOPS, SealedSecret, ExternalSecret) and mount or reference "
        "that.",
        raised_in=("checks.policy_credentials",)),
    _id("SY390", Family.POLICY,
        "Waiver without a reason, or malformed",
        "A waiver is a decision someone must be able to revisit: without a reason nobody knows whether it "
        "still holds. A waiver that cannot be read waives nothing and is reported instead.",
        "Write the waiver as `check: SY3xx`, `path:` or `object:`, and `reason:` in shipyard.yaml, or as "
        "`shipyard.dev/waive: \"SY301=why; SY305=why\"` on the object.",
        raised_in=("waivers",)),
    _id("SY391", Family.POLICY,
        "Waiver matches no finding",
        "A waiver that no longer matches anything is stale: the problem was fixed, or the object renamed, and"
        " the waiver would silently excuse the next one.",
        "Remove the waiver from shipyard.yaml, or fix its path/object.",
        raised_in=("waivers",)),
    _id("SY401", Family.CROSS_REFERENCE,
        "Path does not exist",
        "An Argo CD Application or Flux Kustomization that names a missing folder never syncs; the engine "
        "reports it only after merge.",
        "Fix the path, or add the folder it names.",
        raised_in=("e2e.plan", "render.engine", "render.kustomize", "render.preflight", "targets")),
    _id("SY402", Family.CROSS_REFERENCE,
        "GitOps source is not defined",
        "A HelmRelease whose HelmRepository or values ConfigMap is missing, or an Application whose $values "
        "ref is not this repository, fails to reconcile.",
        "Define the source next to the object that uses it.",
        raised_in=("e2e.plan", "render.engine")),
    _id("SY403", Family.CROSS_REFERENCE,
        "Namespace is never created",
        "Applying an object into a namespace that nothing creates fails on a fresh cluster, and only there.",
        "Add the Namespace to base/namespaces (or the component that owns it).",
        raised_in=("checks.crossref", "e2e.plan")),
    _id("SY404", Family.CROSS_REFERENCE,
        "Repository URL differs",
        "Argo CD Applications and the Flux GitRepository must sync this repository; a stale URL deploys a "
        "fork or nothing.",
        "Use the URL in shipyard.yaml (repository.url), or change it there.",
        raised_in=("checks.crossref",)),
    _id("SY405", Family.CROSS_REFERENCE,
        "Chart pins disagree",
        "One chart, one version: when Argo CD and Flux (or two clusters) pin different versions or "
        "repositories of the same chart, the engines deploy different software.",
        "Make every HelmRelease and Application for the chart use the pin in base/<chart>/helmrelease.yaml.",
        raised_in=("checks.crossref",)),
    _id("SY406", Family.CROSS_REFERENCE,
        "Argo CD and Flux deploy different things",
        "Both entry points of a cluster must produce the same objects; otherwise switching engines (or "
        "running the other in a test cluster) changes what runs.",
        "Make the Argo CD Applications and the Flux Kustomizations/HelmReleases point at the same paths, "
        "charts and values.",
        raised_in=("checks.crossref",)),
    _id("SY407", Family.CROSS_REFERENCE,
        "Cluster environment has no overlay",
        "A cluster deploys an environment's overlay; a typo in cluster.yaml deploys nothing.",
        "Set spec.environment to one of the folders in overlays/.",
        raised_in=("checks.crossref",)),
    _id("SY408", Family.CROSS_REFERENCE,
        "Kustomization reaches outside the repository",
        "A render that reads files outside the repository (directly or through a symlink) depends on the "
        "machine it runs on: the engine in the cluster cannot see them, and a reviewer cannot either.",
        "Move the files into the repository, or reference them as a pinned remote base.",
        raised_in=("checks.crossref",)),
    _id("SY501", Family.MODEL,
        "model.yaml breaks its schema",
        "model.yaml is the one place a version's URI and metrics are written; promotion, gates and the "
        "generated components all read it. A field the schema does not know is a typo that silently does "
        "nothing.",
        "Fix the field at the line shown; the schema is documented in docs/models.md.",
        raised_in=("checks.models", "lifecycle.register", "models.spec")),
    _id("SY502", Family.MODEL,
        "Pin names an unregistered version",
        "An overlay that pins a version model.yaml does not register deploys an artifact nobody vouched for "
        "(or fails to build when the component folder is gone).",
        "Pin a registered version (`shipyard promote MODEL --to ENV --version V`) or register it first.",
        raised_in=("checks.models", "lifecycle.register", "lifecycle.rollback", "models.spec")),
    _id("SY503", Family.MODEL,
        "Rendered modelUri differs from the registered one",
        "What the cluster receives must be the artifact model.yaml registered for the pinned version; a patch"
        " that overrides modelUri, or a predictor with no version at all, bypasses registration and gates.",
        "Remove the overriding patch; pin the version with `shipyard promote` so its component sets modelUri.",
        raised_in=("checks.models", "lifecycle.pin_plan", "lifecycle.register", "models.rules")),
    _id("SY504", Family.MODEL,
        "Pinned version fails the environment's gate",
        "Gates in model.yaml say what a version must score to run in an environment; a pin that skips them "
        "puts a model below the bar in front of users.",
        "Pin a version that passes, or (with the model owner) change the gate in model.yaml.",
        raised_in=("checks.models", "models.rules")),
    _id("SY505", Family.MODEL,
        "Version component out of sync with model.yaml",
        "models/<m>/versions/<v>/ is generated from model.yaml; edited by hand (or left behind), it deploys a"
        " modelUri that model.yaml does not say.",
        "Run `shipyard register MODEL --sync` and commit the result.",
        raised_in=("checks.models", "models.components")),
    _id("SY506", Family.MODEL,
        "Replicas differ from model.yaml",
        "model.yaml says how many replicas a model runs per environment (spec.serving.replicas, "
        "canaryReplicas); an overlay that disagrees means capacity nobody reviewed.",
        "Re-run `shipyard promote` for that environment (it writes model.yaml's replicas), or change "
        "model.yaml.",
        raised_in=("checks.models", "lifecycle.pin_plan", "models.rules")),
    _id("SY507", Family.MODEL,
        "SeldonDeployment disagrees with model.yaml's serving",
        "model.yaml declares how the model is served (server or image, protocol, namespace, GPUs); the deploy"
        " base must say the same, or status, GPU capacity and reviews describe something else than what runs.",
        "Make models/<m>/deploy match spec.serving in model.yaml (or the other way round).",
        raised_in=("checks.models",)),
    _id("SY508", Family.MODEL,
        "Pinned artifact is not reachable from a cluster",
        "A file:// modelUri names a folder on the machine that ran the pipeline; Seldon's storage initializer"
        " cannot fetch it, and the predictor never starts.",
        "Publish the artifact to gs://, s3://, https:// or a PVC and register it as a new version.",
        raised_in=("checks.models", "models.rules")),
    _id("SY509", Family.MODEL,
        "Canary without Istio",
        "Seldon splits traffic between two predictors through Istio; on a cluster without it the canary's "
        "share is not honoured.",
        "Install Istio in that environment's clusters (and set istio: true in cluster.yaml), or finish/abort "
        "the canary.",
        raised_in=("checks.models", "models.rules")),
    _id("SY510", Family.MODEL,
        "Promotion order",
        "A version reaches an environment only after the one before it in shipyard.yaml promotion.order "
        "(production after staging), so what runs in production has run somewhere first. `shipyard promote` "
        "refuses otherwise.",
        "Promote to the earlier environment first, or pass --force --reason TEXT (the reason goes in the pull"
        " request).",
        raised_in=("models.rules",)),
    _id("SY511", Family.MODEL,
        "Pin is ambiguous",
        "One model has one stable version per environment, and at most one canary listed right after it; two "
        "version components of one model patch the same fields and the last one silently wins.",
        "Keep one stable component (and at most one canary after it) per model in each environment.",
        raised_in=("checks.models",)),
    _id("SY512", Family.MODEL,
        "Model without monitoring",
        "Staging and production models are watched: a PodMonitor scrapes Seldon's executor and "
        "PrometheusRules alert on error rate and latency. A pin without them ships a model nobody will hear "
        "fail.",
        "List ../../../../models/<m>/monitoring in the pin's resources (and write that folder; see "
        "docs/models.md).",
        raised_in=("checks.models",)),
    _id("SY900", Family.ENVIRONMENT,
        "Bad input or usage",
        "A missing file, an unknown model, environment or cluster, or a setting of the wrong shape: the "
        "command cannot start.",
        "Follow the message: it names the file and line, and lists what exists.",
        raised_in=("cli.e2e", "cli.pipeline", "cli.register", "cli.status", "e2e.canary", "e2e.plan",
            "e2e.predict", "e2e.scratch", "errors", "git", "lifecycle.apply", "lifecycle.guards",
            "lifecycle.pin_edit", "lifecycle.promote", "lifecycle.register", "lifecycle.rollback",
            "lifecycle.rollout", "load", "models.spec", "pipelines", "render.engine", "render.run", "repo",
            "scaffold.cluster", "scaffold.common", "scaffold.init", "scaffold.model", "schemas.kubernetes")),
    _id("SY901", Family.ENVIRONMENT,
        "Tool missing or the wrong version",
        "Renders are compared across machines, so helm and kustomize are pinned; another version renders "
        "differently.",
        "Run `make setup` (installs the pinned helm and kubectl into .venv/bin).",
        raised_in=("cli.e2e", "e2e.cluster", "e2e.pins", "envs", "git", "render.binaries", "render.run",
            "schemas.kubernetes")),
    _id("SY902", Family.ENVIRONMENT,
        "Mirror unusable",
        "SHIPYARD_MIRROR (or mirror: in shipyard.yaml) names a folder without charts/index.yaml or git/.",
        "Point it at a folder laid out like the upstream mirror, or unset it to use upstream.",
        raised_in=("render.mirror",)),
    _id("SY903", Family.ENVIRONMENT,
        "Render failed",
        "kustomize or helm refused the input (or ran past its time limit): nothing can be checked.",
        "Read the tool's own message, quoted in the error; a chart version or remote ref that does not exist "
        "is the usual cause.",
        raised_in=("render.helm", "render.preflight", "render.run")),
    _id("SY904", Family.ENVIRONMENT,
        "git failed",
        "A git command failed: a ref that does not exist, a folder that is not a git work tree, or a branch or "
        "commit git refused (its own index.lock held, no identity set).",
        "Follow the message: check the ref (in CI, fetch history: actions/checkout with fetch-depth: 0), or what "
        "git itself said.",
        raised_in=("diff", "git")),
    _id("SY905", Family.ENVIRONMENT,
        "Work tree busy or interrupted",
        "Another shipyard command holds the work tree, or a killed one left a change it cannot repair by "
        "itself.",
        "Wait (or pass --wait SECONDS), or follow the steps the message lists.",
        raised_in=("git", "lifecycle.apply", "lifecycle.journal", "lifecycle.signals")),
    _id("SY906", Family.ENVIRONMENT,
        "Conflict with a branch",
        "The promotion branch exists with other content, or the target branch changed the same file upstream.",
        "Delete or rename the branch (--branch NAME), or `git pull --rebase` and run again.",
        raised_in=("git", "lifecycle.apply")),
    _id("SY910", Family.ENVIRONMENT,
        "Invalid YAML",
        "A file that does not parse (or is not UTF-8 text) cannot be applied at all.",
        "Fix the syntax at the line given.",
        raised_in=("lifecycle.yaml_edit", "load")),
    _id("SY911", Family.ENVIRONMENT,
        "YAML beyond the loader's limits",
        "Recursive or exponential aliases (an 'alias bomb') and absurd nesting would exhaust memory or the "
        "stack.",
        "Remove the aliases or the nesting.",
        raised_in=("load",)),
    _id("SY912", Family.ENVIRONMENT,
        "Model artifact unusable",
        "The artifact is missing, corrupt or its sha256 differs from the registered one: serving it would "
        "serve something else.",
        "Download the registered artifact again, or register the version anew.",
        raised_in=("serving.artifact",)),
    _id("SY913", Family.ENVIRONMENT,
        "Model server failed",
        "A port is taken, or the seldon-core microservice stopped.",
        "Pick other ports, or read the server log the message names.",
        raised_in=("serving.server", "serving.session")),
    _id("SY914", Family.ENVIRONMENT,
        "End-to-end step failed",
        "On the kind cluster, a kubectl step was refused or timed out, a workload never became ready, or a "
        "model answered a prediction wrongly: what was deployed does not work.",
        "Read the step's message and the diagnostics folder it names (events, pod logs).",
        raised_in=("e2e.canary", "e2e.cluster", "e2e.predict")),
)

CATALOGUE: Final[dict[str, IdInfo]] = {info.id: info for info in _ENTRIES}
ALL_IDS: Final[tuple[str, ...]] = get_args(CheckId)

# The SY9xx errors by what they mean, so raising code names the meaning.
USAGE: Final = "SY900"
TOOL_MISSING: Final = "SY901"
MIRROR_UNUSABLE: Final = "SY902"
RENDER_FAILED: Final = "SY903"
GIT_FAILED: Final = "SY904"
WORK_TREE_BUSY: Final = "SY905"
BRANCH_CONFLICT: Final = "SY906"
INVALID_YAML: Final = "SY910"
YAML_LIMIT: Final = "SY911"
ARTIFACT_UNUSABLE: Final = "SY912"
SERVER_FAILED: Final = "SY913"
E2E_FAILED: Final = "SY914"


def info(id: str) -> IdInfo:
    """The catalogue entry of ``id``; KeyError for an id nobody registered."""
    return CATALOGUE[id]


def is_check_id(value: str) -> bool:
    return value in CATALOGUE

# Findings about waivers themselves (shipyard.waivers raises them).
INVALID_WAIVER: Final = "SY390"
UNUSED_WAIVER: Final = "SY391"
