"""Every check id, as data: its title, why it exists, how to fix what it
reports, and its family.

Ids are the words every command, document, waiver and test share, so they
live at the bottom layer, once. ``CheckId`` is the type of an id: the type
checker refuses an id that is not listed here, and tests/unit/test_ids.py
checks that every id the code raises is listed with the meaning it is raised
for. docs/checks.md is generated from this catalogue
(``python -m shipyard.checks.doc``).

Families: SY1xx schema and strictness, SY2xx admission rules (Seldon, Training
Operator, Katib), SY3xx policies, SY4xx cross-references, SY5xx models and
promotion gates, SY9xx environment and bad input (these stop a command with exit code 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal, get_args

CheckId = Literal[
    "SY101", "SY102", "SY103", "SY104", "SY105", "SY106", "SY107", "SY108", "SY109", "SY110", "SY201",
    "SY202", "SY203", "SY204", "SY205", "SY206", "SY207", "SY208", "SY301", "SY302", "SY303", "SY304",
    "SY220", "SY221", "SY222", "SY223", "SY224", "SY225",
    "SY230", "SY231", "SY232", "SY233", "SY234", "SY235", "SY236", "SY237", "SY238",
    "SY305", "SY306", "SY307", "SY308", "SY309", "SY310", "SY311", "SY312", "SY313", "SY314", "SY315",
    "SY316", "SY317", "SY318", "SY319", "SY320", "SY321", "SY322", "SY390", "SY391", "SY401", "SY402",
    "SY403", "SY404", "SY405", "SY406", "SY407", "SY408", "SY409", "SY410", "SY411", "SY412", "SY501",
    "SY502", "SY503", "SY504", "SY505", "SY506", "SY507", "SY508", "SY509", "SY510", "SY511", "SY512", "SY513",
    "SY517", "SY518", "SY519",
    "SY900", "SY901", "SY902", "SY903", "SY904", "SY905", "SY906", "SY910", "SY911", "SY912", "SY913",
    "SY914",
    "SY915",
]


class Family(Enum):
    """A family of checks: the first digit of the id says which."""

    SCHEMA = ("SY1", "Schema and strictness")
    SELDON = ("SY2", "Admission rules (Seldon, Training Operator, Katib)")
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
    imitates: str = ""  # the upstream source it follows: "repository path/file.go Function" (docs/checks.md)


def _id(id: CheckId, family: Family, title: str, rationale: str, hint: str, *, raised_in: tuple[str, ...],
        imitates: str = "") -> IdInfo:
    if not id.startswith(family.prefix):
        raise ValueError(f"{id} is not in family {family.name} ({family.prefix}xx)")
    return IdInfo(id, family, title, rationale, hint, raised_in, imitates)


_ENTRIES = (
    _id("SY101", Family.SCHEMA,
        "Schema violation",
        "The API server refuses an object whose fields have the wrong type, a value outside the allowed set "
        "or a missing required field; in a GitOps repository that refusal only shows after merge, when the "
        "sync fails.",
        "Fix the field named in the message; `kubectl explain` describes it.",
        raised_in=("checks.schema",),
        imitates="kubernetes staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting/"
                 "prunenulls.go PruneNonNullableNullsWithoutDefaults and defaulting/algorithm.go Default (before "
                 "validating), validation.go ValidateCustomResource, objectmeta/validation.go Validate (embedded "
                 "resources); built-in kinds: the schemas kubernetes-validate ships, a null read as absent"),
    _id("SY102", Family.SCHEMA,
        "Unknown field",
        "A misspelt or misplaced field is dropped silently by the API server without strict validation: the "
        "setting you wrote never takes effect (an imagePullPolcy, a nodeselector).",
        "Fix the spelling or the indentation, or remove the field.",
        raised_in=("checks.schema",),
        imitates="kubernetes staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning/algorithm.go "
                 "PruneWithOptions (unknown fields, refused under strict field validation)"),
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
    _id("SY107", Family.SCHEMA,
        "Object metadata invalid",
        "The API server validates every object's metadata before its schema: a name its kind does not allow "
        "(a DNS-1123 subdomain for most kinds, a DNS-1035 label for Services, a DNS-1123 label for Namespaces "
        "and StatefulSets, a path segment for RBAC objects, `<plural>.<group>` for a CRD), a bad generateName or "
        "namespace, a label key or value, annotation key or finalizer it does not allow, or annotations over "
        "256 KiB: the apply fails, though every schema says only \"string\".",
        "Rename as the finding's fix line says: names in lower-case letters, digits, '-' (and '.' where a "
        "subdomain is allowed), label values of at most 63 letters, digits, '-', '_' or '.', free text in "
        "annotation values.",
        raised_in=("checks.metadata",),
        imitates="kubernetes staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go "
                 "ValidateObjectMetaAccessor (with each kind's ValidateNameFunc)"),
    _id("SY108", Family.SCHEMA,
        "Duplicate entry in a list-type map or set",
        "A list declared x-kubernetes-list-type: map is keyed by its x-kubernetes-list-map-keys, a set by its "
        "values, and a key field left out counts with its default: the API server refuses a custom resource "
        "with two entries of one key, and server-side apply (how Flux applies) refuses the same in a built-in "
        "kind; two container ports 8080 without a protocol are both 8080/TCP.",
        "Remove or merge the duplicate entry, or give it a key of its own (another port, name or protocol).",
        raised_in=("checks.schema",),
        imitates="kubernetes staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype/"
                 "validation.go ValidateListSetsAndMaps (built-in kinds: the list-map keys of Kubernetes' OpenAPI, "
                 "with the key defaults of k8s.io/api)"),
    _id("SY109", Family.SCHEMA,
        "CEL validation rule fails",
        "The API server evaluates a CRD's x-kubernetes-validations rules on every create and update, after "
        "defaults, and refuses an object that breaks one, or on which one errors (a field read without has()), "
        "with the rule's message: a Flux HelmRelease with both chart and chartRef never syncs.",
        "Change the object so the rule holds; the message is the CRD author's, the finding names the rule.",
        raised_in=("checks.schema",),
        imitates="kubernetes staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go "
                 "Validator.Validate, on create (transition rules skipped), with apiserver pkg/cel/common/"
                 "valuesunstructured.go UnstructuredToVal"),
    _id("SY110", Family.SCHEMA,
        "CEL validation rule not evaluated",
        "A rule this checker cannot judge offline is reported as a warning, never passed silently: one that "
        "uses a CEL function it does not provide (Kubernetes' IP, CIDR, semver or format libraries, "
        "two-variable comprehensions) or reads a date-time inside the object, and every rule of an object with "
        "a blocking schema error, which the API server does not run either.",
        "Fix the schema errors first; otherwise check the object against the named rule by hand or on a test "
        "cluster.",
        raised_in=("checks.schema",),
        imitates="kubernetes staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go "
                 "customResourceStrategy.Validate (rules skipped after hasBlockingErr)"),
    _id("SY201", Family.SELDON,
        "Seldon traffic does not sum to 100",
        "seldon-core's admission webhook refuses a SeldonDeployment whose non-shadow predictors' traffic does "
        "not sum to exactly 100 when there are two or more of them, or whose single predictor sets traffic "
        "between 1 and 99: the sync fails after merge. An object the webhook does not see is not judged and "
        "nothing is reported for it: by default one labelled seldon.io/controller-id or in a namespace so "
        "labelled (read from the rendered webhook configuration or operator).",
        "Make the traffic of all non-shadow predictors add up to 100 (a single predictor may leave traffic "
        "out).",
        raised_in=("checks.seldon",),
        imitates="SeldonIO/seldon-core v1.17.1 operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go checkTraffic; selectors: helm-charts/seldon-core-operator/templates/webhook.yaml, operator/config/webhook/patch_webhook.yaml"),
    _id("SY202", Family.SELDON,
        "Seldon shadow predictor misused",
        "seldon-core's admission webhook allows at most one shadow predictor, never a shadow as the only "
        "predictor, and a shadow's traffic only within [0, 100]. An object the webhook does not see is not "
        "judged and nothing is reported for it: by default one labelled seldon.io/controller-id or in a "
        "namespace so labelled (read from the rendered webhook configuration or operator).",
        "Keep one shadow next to at least one live predictor; remove or merge the extra shadows.",
        raised_in=("checks.seldon",),
        imitates="SeldonIO/seldon-core v1.17.1 operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go checkTraffic, validateShadow; selectors: helm-charts/seldon-core-operator/templates/webhook.yaml, operator/config/webhook/patch_webhook.yaml"),
    _id("SY203", Family.SELDON,
        "Seldon prepackaged server misconfigured",
        "seldon-core's admission webhook refuses a prepackaged server (any implementation other than the "
        "engine's built-in units and UNKNOWN_IMPLEMENTATION; not implementation \"\", which it does not check) "
        "without a modelUri (HUGGINGFACE_SERVER may go without), one without a container image that has no "
        "entry in the operator's predictor_servers, and SKLEARN/XGBOOST/MLFLOW/HUGGINGFACE servers under the "
        "tensorflow protocol. An object the webhook does not see is not judged and nothing is reported for "
        "it: by default one labelled seldon.io/controller-id or in a namespace so labelled (read from the "
        "rendered webhook configuration or operator).",
        "Set the node's modelUri (in this repository: pin a registered model version), use an implementation "
        "listed in the operator's predictor_servers, or give the container an image.",
        raised_in=("checks.seldon",),
        imitates="SeldonIO/seldon-core v1.17.1 operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go checkPredictiveUnits (prepack.go IsPrepack, getPredictorServerConfigs); selectors: helm-charts/seldon-core-operator/templates/webhook.yaml, operator/config/webhook/patch_webhook.yaml"),
    _id("SY204", Family.SELDON,
        "Seldon predictor names not unique",
        "seldon-core's admission webhook refuses two predictors with the same name: they would share one "
        "Deployment and Service name. An object the webhook does not see is not judged and nothing is "
        "reported for it: by default one labelled seldon.io/controller-id or in a namespace so labelled (read "
        "from the rendered webhook configuration or operator).",
        "Give every predictor of a SeldonDeployment its own name.",
        raised_in=("checks.seldon",),
        imitates="SeldonIO/seldon-core v1.17.1 operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go ValidateSeldonDeployment; selectors: helm-charts/seldon-core-operator/templates/webhook.yaml, operator/config/webhook/patch_webhook.yaml"),
    _id("SY205", Family.SELDON,
        "Seldon graph node without a container",
        "seldon-core's admission webhook refuses a graph node whose implementation is unset or "
        "UNKNOWN_IMPLEMENTATION unless a container of the same name is in that predictor's componentSpecs: "
        "nothing would run the node (implementation \"\" is not checked). An object the webhook does not see is "
        "not judged and nothing is reported for it: by default one labelled seldon.io/controller-id or in a "
        "namespace so labelled (read from the rendered webhook configuration or operator).",
        "Add a container named like the node to the predictor's componentSpecs, or give the node a "
        "prepackaged implementation.",
        raised_in=("checks.seldon",),
        imitates="SeldonIO/seldon-core v1.17.1 operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go checkPredictiveUnits (GetContainerForPredictiveUnit); selectors: helm-charts/seldon-core-operator/templates/webhook.yaml, operator/config/webhook/patch_webhook.yaml"),
    _id("SY206", Family.SELDON,
        "Seldon deployment settings invalid",
        "seldon-core's admission webhook refuses an unknown protocol, transport or serverType, a deployment "
        "with no predictors, and serverType kafka for a predictor with fewer than three svcOrchSpec.env "
        "entries named KAFKA_BROKER, KAFKA_INPUT_TOPIC or KAFKA_OUTPUT_TOPIC (it counts entries: a repeated "
        "name counts again, other KAFKA_* names do not). An object the webhook does not see is not judged and "
        "nothing is reported for it: by default one labelled seldon.io/controller-id or in a namespace so "
        "labelled (read from the rendered webhook configuration or operator).",
        "Use protocol seldon|tensorflow|kfserving|v2, transport rest|grpc, serverType rpc|kafka (kafka needs "
        "KAFKA_BROKER, KAFKA_INPUT_TOPIC and KAFKA_OUTPUT_TOPIC in each predictor's svcOrchSpec.env).",
        raised_in=("checks.seldon",),
        imitates="SeldonIO/seldon-core v1.17.1 operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go ValidateSeldonDeployment, validateKafka; selectors: helm-charts/seldon-core-operator/templates/webhook.yaml, operator/config/webhook/patch_webhook.yaml"),
    _id("SY207", Family.SELDON,
        "Seldon inference graph invalid",
        "seldon-core's admission webhook refuses a logger without a mode, a node of UNKNOWN_TYPE without "
        "methods whose implementation is unset or UNKNOWN_IMPLEMENTATION, a multi-node graph in a predictor "
        "annotated seldon.io/no-engine, and mixed endpoint types or one contradicting spec.transport. An "
        "object the webhook does not see is not judged and nothing is reported for it: by default one "
        "labelled seldon.io/controller-id or in a namespace so labelled (read from the rendered webhook "
        "configuration or operator).",
        "Set logger.mode; give UNKNOWN_TYPE nodes their methods; drop seldon.io/no-engine for multi-node "
        "graphs; use one endpoint type, matching spec.transport.",
        raised_in=("checks.seldon",),
        imitates="SeldonIO/seldon-core v1.17.1 operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go checkPredictiveUnits, ValidateSeldonDeployment (collectTransports, sizeOfGraph); selectors: helm-charts/seldon-core-operator/templates/webhook.yaml, operator/config/webhook/patch_webhook.yaml"),
    _id("SY208", Family.SELDON,
        "Seldon predictors share a service name",
        "seldon-core's admission webhook refuses a SeldonDeployment in which two predictors' "
        "seldon.io/svc-name annotations have the same value: both would be served by one Service. An object "
        "the webhook does not see is not judged and nothing is reported for it: by default one labelled "
        "seldon.io/controller-id or in a namespace so labelled (read from the rendered webhook configuration "
        "or operator).",
        "Give each predictor its own seldon.io/svc-name, or drop the annotation.",
        raised_in=("checks.seldon",),
        imitates="SeldonIO/seldon-core v1.17.1 operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go validateSvcNameAnnotations; selectors: helm-charts/seldon-core-operator/templates/webhook.yaml, operator/config/webhook/patch_webhook.yaml"),
    _id("SY220", Family.SELDON,
        "Training job name is not a DNS-1035 label",
        "The Training Operator's admission webhook (v1.9.4) refuses a PyTorchJob, XGBoostJob, TFJob, PaddleJob or "
        "JAXJob whose name is not a DNS-1035 label: the operator names the job's Services after it. MPIJob has no "
        "webhook. The webhook is registered without selectors, so every job is judged (a rendered "
        "ValidatingWebhookConfiguration's selectors apply when there is one).",
        "Use at most 63 lower-case letters, digits and '-', starting with a letter.",
        raised_in=("checks.training_operator",),
        imitates="kubeflow/trainer v1.9.4 pkg/webhooks/pytorch/pytorchjob_webhook.go validatePyTorchJob (and "
                 "xgboost/xgboostjob_webhook.go validateXGBoostJob, tensorflow/tfjob_webhook.go validateTFJob, "
                 "paddlepaddle/paddlepaddle_webhook.go validatePaddleJob, jax/jaxjob_webhook.go validateJAXJob): "
                 "NameIsDNS1035Label"),
    _id("SY221", Family.SELDON,
        "Training job replica specs missing or of an unsupported type",
        "The Training Operator's admission webhook refuses a job without its replica specs map, and a replica "
        "type its kind does not run: Master and Worker for PyTorchJob, XGBoostJob and PaddleJob, Worker for "
        "JAXJob (TFJob takes any). Also judged inside a Katib Experiment's trial template, where the refusal "
        "fails every trial.",
        "Declare spec.<framework>ReplicaSpecs with the replica types the kind supports.",
        raised_in=("checks.training_operator",),
        imitates="kubeflow/trainer v1.9.4 pkg/webhooks/pytorch/pytorchjob_webhook.go validatePyTorchReplicaSpecs "
                 "(and validateXGBReplicaSpecs, validateTFReplicaSpecs, paddlepaddle validateSpec, "
                 "validateJAXReplicaSpecs)"),
    _id("SY222", Family.SELDON,
        "Training job replica without containers or images",
        "The Training Operator's admission webhook refuses a replica whose pod template has no containers, or a "
        "container without an image (also inside a Katib trial template).",
        "Give every replica's pod template its containers, each with an image.",
        raised_in=("checks.training_operator",),
        imitates="kubeflow/trainer v1.9.4 pkg/webhooks/pytorch/pytorchjob_webhook.go validatePyTorchReplicaSpecs "
                 "(and the other kinds' validate*ReplicaSpecs)"),
    _id("SY223", Family.SELDON,
        "Training job replica without the framework's container",
        "The Training Operator's admission webhook refuses a replica without a container of the kind's default "
        "name (pytorch, xgboost, tensorflow, paddle, jax): the operator sets the ports and environment of "
        "distributed training on that container only (also inside a Katib trial template).",
        "Name the training container pytorch, xgboost, tensorflow, paddle or jax, after the job's kind.",
        raised_in=("checks.training_operator",),
        imitates="kubeflow/trainer v1.9.4 pkg/webhooks/pytorch/pytorchjob_webhook.go validatePyTorchReplicaSpecs "
                 "(PyTorchJobDefaultContainerName; and the other kinds' validate*ReplicaSpecs)"),
    _id("SY224", Family.SELDON,
        "Training job replica counts refused",
        "The Training Operator's admission webhook refuses a PyTorchJob or XGBoostJob whose Master replicas is "
        "not exactly 1 (nothing defaults it before admission, so an unset replicas is refused too), a "
        "PyTorchJob Worker with fewer than 1 replica, an XGBoostJob without a Master, and a TFJob with more "
        "than one Chief or Master (also inside a Katib trial template).",
        "Set replicas: 1 on the Master; give Workers at least one replica; keep one TFJob Chief or Master.",
        raised_in=("checks.training_operator",),
        imitates="kubeflow/trainer v1.9.4 pkg/webhooks/pytorch/pytorchjob_webhook.go validatePyTorchReplicaSpecs, "
                 "xgboost/xgboostjob_webhook.go validateXGBReplicaSpecs, tensorflow/tfjob_webhook.go "
                 "validateTFReplicaSpecs"),
    _id("SY225", Family.SELDON,
        "Training job run or elastic policy refused",
        "The Training Operator's admission webhook refuses spec.runPolicy.managedBy other than "
        "kubeflow.org/training-operator or kueue.x-k8s.io/multikueue (JAXJob excepted), a PyTorchJob "
        "elasticPolicy without a Worker replica, and elasticPolicy.nProcPerNode together with spec.nprocPerNode. "
        "managedBy's immutability on UPDATE needs the live object and is not judged.",
        "Drop managedBy or name a supported controller; add a Worker for elastic training; keep only "
        "spec.nprocPerNode.",
        raised_in=("checks.training_operator",),
        imitates="kubeflow/trainer v1.9.4 pkg/common/util/webhooks.go ValidateRunPolicy; "
                 "pkg/webhooks/pytorch/pytorchjob_webhook.go validateSpec"),
    _id("SY230", Family.SELDON,
        "Katib Experiment name refused",
        "Katib's admission webhook (v0.19.0) refuses an Experiment whose name does not start with a lower-case "
        "letter or is longer than 40 characters (trial and suggestion names are made from it). The webhook "
        "is registered without selectors, so every Experiment is judged, after Katib's defaulting webhook.",
        "Start the name with a lower-case letter and keep it to 40 characters.",
        raised_in=("checks.katib",),
        imitates="kubeflow/katib v0.19.0 pkg/webhook/v1beta1/experiment/validator/validator.go ValidateExperiment"),
    _id("SY231", Family.SELDON,
        "Katib trial counts refused",
        "Katib's admission webhook refuses maxTrialCount or parallelTrialCount below 1, maxFailedTrialCount "
        "below 0, and maxFailedTrialCount or parallelTrialCount above maxTrialCount. parallelTrialCount is "
        "judged as defaulted (3 when unset), so maxTrialCount: 2 alone is refused.",
        "Keep 1 <= parallelTrialCount <= maxTrialCount and 0 <= maxFailedTrialCount <= maxTrialCount.",
        raised_in=("checks.katib",),
        imitates="kubeflow/katib v0.19.0 pkg/webhook/v1beta1/experiment/validator/validator.go ValidateExperiment; "
                 "pkg/apis/controller/experiments/v1beta1/experiment_defaults.go setDefaultParallelTrialCount"),
    _id("SY232", Family.SELDON,
        "Katib objective refused",
        "Katib's admission webhook refuses an Experiment without spec.objective, with an objective type other "
        "than minimize or maximize, without objectiveMetricName, or whose additionalMetricNames repeat the "
        "objective metric.",
        "Set spec.objective.type (minimize or maximize) and objectiveMetricName; list other metrics in "
        "additionalMetricNames only.",
        raised_in=("checks.katib",),
        imitates="kubeflow/katib v0.19.0 pkg/webhook/v1beta1/experiment/validator/validator.go validateObjective"),
    _id("SY233", Family.SELDON,
        "Katib algorithm unknown",
        "Katib's admission webhook refuses an Experiment without spec.algorithm.algorithmName, or whose "
        "algorithm (or earlyStopping algorithm) has no entry in the katib-config ConfigMap: no suggestion "
        "service could run it. The entries are read from the rendered katib-config; without one, those of "
        "Katib v0.19.0's katib-standalone install.",
        "Use an algorithm katib-config lists (random, tpe, grid, hyperband, bayesianoptimization, cmaes, sobol, "
        "multivariate-tpe, enas, darts, pbt; early stopping: medianstop), or add it there.",
        raised_in=("checks.katib",),
        imitates="kubeflow/katib v0.19.0 pkg/webhook/v1beta1/experiment/validator/validator.go validateAlgorithm, "
                 "validateEarlyStopping; manifests/v1beta1/installs/katib-standalone/katib-config.yaml"),
    _id("SY234", Family.SELDON,
        "Katib search space refused",
        "Katib's admission webhook refuses an Experiment with neither spec.parameters nor spec.nasConfig (or "
        "both), a parameter without a feasibleSpace, an int or double parameter with a list or without both min "
        "and max, and a categorical or discrete one with min, max or step. Unknown parameter types and "
        "distributions are the schema's (SY101).",
        "Give int and double parameters min and max, categorical and discrete ones a list.",
        raised_in=("checks.katib",),
        imitates="kubeflow/katib v0.19.0 pkg/webhook/v1beta1/experiment/validator/validator.go validateParameters, "
                 "ValidateExperiment"),
    _id("SY235", Family.SELDON,
        "Katib trial template refused",
        "Katib's admission webhook refuses an Experiment without spec.trialTemplate, without "
        "primaryContainerName, without success and failure conditions (defaulted for Job and the Training "
        "Operator's kinds only), without trialParameters, with neither or both of trialSpec and configMap, with "
        "an incomplete configMap reference, and a trial spec that sets metadata.name or metadata.namespace or "
        "lacks apiVersion or kind.",
        "Write the trial template as Katib's examples do: trialSpec with apiVersion and kind and no name, "
        "primaryContainerName, trialParameters.",
        raised_in=("checks.katib",),
        imitates="kubeflow/katib v0.19.0 pkg/webhook/v1beta1/experiment/validator/validator.go validateTrialTemplate; "
                 "pkg/apis/controller/experiments/v1beta1/experiment_defaults.go setDefaultTrialTemplate"),
    _id("SY236", Family.SELDON,
        "Katib trial parameters do not match the template",
        "Katib's admission webhook refuses trialParameters without a name or reference, repeated names or "
        "references, a reference that is not one of spec.parameters (or a ${trialSpec.*} key), a trial "
        "parameter the template never uses as ${trialParameters.<name>}, and a ${trialParameters.*} in the "
        "template that no trial parameter defines. A template in a ConfigMap is judged when the ConfigMap is "
        "rendered.",
        "Define every ${trialParameters.x} the template uses in trialTemplate.trialParameters, each referencing a "
        "spec.parameters name.",
        raised_in=("checks.katib",),
        imitates="kubeflow/katib v0.19.0 pkg/webhook/v1beta1/experiment/validator/validator.go validateTrialTemplate, "
                 "isMetaKey; pkg/controller.v1beta1/consts/const.go TrialTemplateParamReplaceFormatRegex"),
    _id("SY237", Family.SELDON,
        "Katib primary container not in the trial",
        "Katib's pod webhook wraps the trial's primary container (trialTemplate.primaryContainerName) to collect "
        "its metrics; when no container of the trial spec has that name nothing is wrapped, no metric is "
        "collected and every trial ends without an objective value. The admission webhook accepts it, so this "
        "is found only when trials run.",
        "Set primaryContainerName to the training container's name (xgboost, pytorch, ... for the Training "
        "Operator's jobs).",
        raised_in=("checks.katib",),
        imitates="kubeflow/katib v0.19.0 pkg/webhook/v1beta1/pod/utils.go wrapWorkerContainer, "
                 "getPrimaryContainerIndex"),
    _id("SY238", Family.SELDON,
        "Katib metrics collector refused",
        "Katib's admission webhook refuses a metrics collector katib-config has no entry for (StdOut, File and "
        "TensorFlowEvent in the standalone install; PrometheusMetric is not), a File collector without an "
        "absolute file path or a TEXT/JSON format (or with a filter on JSON), a TensorFlowEvent collector "
        "without an absolute directory, a PrometheusMetric port that is not a positive integer or path without "
        "'/', a Custom collector without its container, and filters that do not compile or lack two groups "
        "(not judged for StdOut, as upstream). Judged after Katib's defaulting.",
        "Use a collector katib-config lists, with the source its kind needs; write filters with two groups "
        "(name, value).",
        raised_in=("checks.katib",),
        imitates="kubeflow/katib v0.19.0 pkg/webhook/v1beta1/experiment/validator/validator.go "
                 "validateMetricsCollector; pkg/apis/controller/experiments/v1beta1/experiment_defaults.go "
                 "setDefaultMetricsCollector"),
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
        "For a model, set spec.serving.gpu in model.yaml and let `shipyard promote` (or `register --sync`) "
        "generate the selector and tolerations from cluster.yaml; for any other pod, add the nodeSelector and "
        "tolerations listed under spec.gpu in clusters/<cluster>/cluster.yaml.",
        raised_in=("checks.policy_gpu", "models.gpus")),
    _id("SY304", Family.POLICY,
        "GPU requests exceed the cluster's capacity",
        "Every GPU requested, times the replicas that run (an autoscaler's maximum), must fit in the GPUs the"
        " cluster owns; otherwise the last rollout or scale-up stays Pending with no error in git.",
        "Lower GPU requests or replicas, or raise spec.gpu.capacity in clusters/<cluster>/cluster.yaml when "
        "nodes were added.",
        raised_in=("checks.policy_gpu", "models.rules")),
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
        "restarted. MLServer-based prepackaged servers are not reported: for an implementation with a "
        "predictor_servers entry other than TENSORFLOW_SERVER and TRITON_SERVER, under protocol v2 or "
        "kfserving, the operator writes HTTP probes on /v2/health/ready and /v2/health/live itself and "
        "replaces the handler of any probe declared.",
        "Give every serving container a readinessProbe and a livenessProbe on the model server's health "
        "endpoint (Seldon protocol: /health/ping; v2 protocol: /v2/health/ready and /v2/health/live).",
        raised_in=("checks.policy_serving",),
        imitates="SeldonIO/seldon-core v1.17.1 operator/controllers/seldondeployment_controller.go createContainerService; operator/controllers/seldondeployment_prepackaged_servers.go addModelServersAndInitContainers; operator/controllers/mlserver.go mergeMLServerContainer"),
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
    _id("SY317", Family.POLICY,
        "PrometheusRule refused by promtool",
        "Prometheus loads a rule group only when every expression parses, every duration and label name is valid "
        "and every template renders, and the Prometheus Operator drops the whole PrometheusRule when one rule "
        "fails: the sync succeeds and the alerts never exist. validate runs the real promtool 2.42 (`check rules`,"
        " once per run over every PrometheusRule, each as the rule file the operator writes for it) and maps its "
        "messages back to the PrometheusRule's file and line.",
        "Fix the expression, duration, label or template at the place promtool names; docs/monitoring.md shows "
        "how to run promtool by hand.",
        raised_in=("checks.policy_monitoring",),
        imitates="prometheus/prometheus v2.42 cmd/promtool/main.go CheckRules (model/rulefmt/rulefmt.go "
                 "ParseFile); prometheus-operator v0.93.0 pkg/operator/rules.go sanitizePrometheusRulesSpec, "
                 "ValidateRule"),
    _id("SY318", Family.POLICY,
        "Alert on a metric or label nobody emits",
        "A rule whose selector names a metric the seldon-core executor or operator does not export, a label it "
        "does not set, a `code` value it never writes (REST writes the HTTP status, gRPC the status name: "
        "`code!~\"2..\"` counts healthy gRPC traffic as errors), or whose by/on clause or summary uses a label "
        "its series cannot carry, is valid PromQL that never fires or fires with empty labels. Judged: "
        "selectors of seldon_api_executor_* and of the operator's controller-runtime metrics (when their job "
        "is a PodMonitor of the operator); rules on other metrics (kube-state-metrics, cAdvisor, up) are not.",
        "Use the metrics, labels and values the executor emits (docs/monitoring.md lists them, with the "
        "upstream files they come from).",
        raised_in=("checks.policy_monitoring",),
        imitates="SeldonIO/seldon-core v1.17.1 executor/api/metric/constants.go, server.go NewServerMetrics, "
                 "client.go NewClientMetrics, executor/api/rest/server.go wrapMetrics; controller-runtime "
                 "v0.11.2 pkg/internal/controller/metrics/metrics.go"),
    _id("SY319", Family.POLICY,
        "Predictor version not where the executor reads it",
        "seldon-core's executor writes the predictor's `version` ANNOTATION into predictor_version on every "
        "request metric; the operator's default `version` label (the predictor's name) never reaches it. A "
        "predictor whose version is only a label, or missing, leaves predictor_version empty in every alert "
        "that groups by it (the summary reads \"()\"); an annotation that differs from the label names another "
        "version than the pods carry.",
        "Set spec.predictors[i].annotations.version to the version (this repository's version components do: "
        "`shipyard register <model> --sync` regenerates them).",
        raised_in=("checks.policy_monitoring",),
        imitates="SeldonIO/seldon-core v1.17.1 executor/api/rest/server.go wrapMetrics and "
                 "executor/api/metric/server.go UnaryServerInterceptor (Predictor.Annotations[\"version\"]); "
                 "operator/controllers/seldondeployment_engine.go createEngineContainer (ENGINE_PREDICTOR)"),
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
        raised_in=("checks.policy_credentials", "models.rules", "serving.store")),
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
        raised_in=("e2e.plan", "render.engine", "render.kustomize", "render.preflight", "targets"),
        imitates="fluxcd/kustomize-controller internal/controller/kustomization_controller.go "
        "KustomizationReconciler.build (kustomization path not found)"),
    _id("SY402", Family.CROSS_REFERENCE,
        "GitOps source is not defined",
        "A Kustomization whose GitRepository, a HelmRelease whose chart source (spec.chart's HelmRepository, "
        "spec.chartRef's OCIRepository or HelmChart) or values ConfigMap is missing, or an Application whose "
        "$values ref is not this repository, fails to reconcile. Checked alone, a file's references are looked "
        "up in its folder too; one that only the cluster entry point can settle is a warning that it was not "
        "checked.",
        "Define the source next to the object that uses it.",
        raised_in=("e2e.plan", "render.engine"),
        imitates="fluxcd/helm-controller internal/controller/helmrelease_controller.go "
        "HelmReleaseReconciler.getSource, isValidChartRef"),
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
        raised_in=("checks.crossref",),
        imitates="fluxcd/kustomize-controller internal/controller/kustomization_controller.go "
        "KustomizationReconciler.getSource (the GitRepository a Kustomization syncs)"),
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
    _id("SY409", Family.CROSS_REFERENCE,
        "Argo CD project does not permit the Application",
        "Argo CD refuses an Application whose AppProject does not exist, whose source repoURLs (every source) "
        "the project's sourceRepos do not match, whose destination (server or name, and namespace) no "
        "destinations entry permits, or (in a namespace other than argocd) whose namespace sourceNamespaces "
        "leaves out; and it refuses to sync each object whose kind the cluster or namespace resource "
        "whitelists leave out or the blacklists name, or whose namespace is not a permitted destination. "
        "Changing the repository URL everywhere but the AppProjects passes every other check and syncs "
        "nothing. Judged in each cluster's Argo CD entry point, against the objects each Application renders "
        "(glob patterns and ! negations as Argo CD matches them; the project `default` is Argo CD's built-in "
        "one unless the entry point defines it).",
        "Add the repository, destination, namespace or kind to the AppProject (or remove it from a blacklist), "
        "or move the Application to a project that permits it.",
        raised_in=("checks.gitops",),
        imitates="argoproj/argo-cd pkg/apis/application/v1alpha1/app_project_types.go IsSourcePermitted, "
        "IsDestinationPermitted, IsGroupKindNamePermitted (types.go isResourceInList, isNamedResourceInList), "
        "IsAppNamespacePermitted; util/argo/argo.go ValidatePermissions; controller/sync.go "
        "validateSyncPermissions"),
    _id("SY410", Family.CROSS_REFERENCE,
        "Cluster folder does not point at itself",
        "A cluster's entry points must sync that cluster's own folder and environment: after `cp -r "
        "clusters/production clusters/edge-gpu` the copy's cluster.yaml name, its Argo CD root Application and "
        "its Flux `cluster` Kustomization still name production, so bootstrapping edge-gpu syncs production's "
        "entry point (and production's cluster.yaml facts judge the wrong cluster). Likewise an Application or "
        "Kustomization that deploys another environment's overlay than cluster.yaml's spec.environment.",
        "Make cluster.yaml's metadata.name equal the folder name, and point every path of clusters/<c>/ at "
        "clusters/<c>/ and overlays/<its environment>/.",
        raised_in=("checks.gitops",)),
    _id("SY411", Family.CROSS_REFERENCE,
        "cluster.yaml disagrees with what its environment installs",
        "cluster.yaml states the facts other checks rely on: `istio: true` exactly where the cluster's entry "
        "points install Istio (istiod), GPU capacity above zero exactly where they install the NVIDIA GPU "
        "operator (docs/manifests.md). When they disagree, canary (SY509) and GPU (SY304) checks judge a "
        "cluster that does not exist: a canary passes where nothing splits traffic, GPU pods are admitted where "
        "no device plugin runs.",
        "Make istio: and gpu.capacity in cluster.yaml agree with the charts the environment installs (or "
        "change the environment's charts).",
        raised_in=("checks.gitops",)),
    _id("SY412", Family.CROSS_REFERENCE,
        "Flux dependsOn names nothing",
        "A Flux Kustomization (HelmRelease) whose dependsOn names a Kustomization (HelmRelease) that does not "
        "exist, in its namespace unless the entry names one, never reconciles: kustomize-controller and "
        "helm-controller requeue it forever with 'dependency not found'. A Kustomization cannot depend on a "
        "HelmRelease, nor a HelmRelease on a Kustomization. Judged in each cluster's Flux entry point, where "
        "every object the cluster holds is rendered.",
        "Fix the name (and namespace) in dependsOn, or add the object it waits for.",
        raised_in=("checks.gitops",),
        imitates="fluxcd/kustomize-controller internal/controller/kustomization_controller.go "
        "KustomizationReconciler.checkDependencies; fluxcd/helm-controller "
        "internal/controller/helmrelease_controller.go HelmReleaseReconciler.checkDependencies"),
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
        raised_in=("checks.models", "models.components", "models.gpus")),
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
        raised_in=("checks.models", "models.gpus", "models.rules")),
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
        "fail. A model with request logging (models/<m>/monitoring/request-logging) has its requests judged for "
        "drift only where that Component is listed, before the version's (the canary copies predictor 0).",
        "List ../../../../models/<m>/monitoring in the pin's resources (and write that folder; see "
        "docs/models.md), and ../../../../models/<m>/monitoring/request-logging first under components when "
        "the model has one.",
        raised_in=("checks.models",)),
    _id("SY513", Family.MODEL,
        "Candidate is worse than the version it replaces",
        "A promotion (or a canary start) replaces the version an environment runs: a candidate that scores worse on"
        " a metric model.yaml's spec.compare names, beyond that metric's tolerance in its direction, puts a worse "
        "model in front of users although every gate passes. A compared metric either version does not report "
        "cannot be judged. Versions measured on different evaluation data (versions[].evaluation) are not judged "
        "against each other.",
        "Promote a version that is at least as good, or pass --accept-regression --reason \"why\" (the reason is "
        "written into the commit and the pull request).",
        raised_in=("models.rules",)),
    _id("SY517", Family.MODEL,
        "Canary analysis is not well declared",
        "`shipyard rollout --analyze` judges a canary on model.yaml's spec.analysis: a traffic schedule that does "
        "not climb to 100, a figure without a query or without a bound, or PromQL that does not parse would "
        "judge nothing, or fail only when Prometheus is asked.",
        "Write steps rising to 100 (like [10, 25, 50, 100]), a query for every figure other than errorRate and "
        "latencyP95, a max, min or tolerance for each, and PromQL that parses (docs/canary.md).",
        raised_in=("lifecycle.analysis", "checks.models"),
        imitates="prometheus/prometheus promql/parser ParseExpr (through promql-parser)"),
    _id("SY518", Family.MODEL,
        "Canary is worse than the stable version",
        "A canary whose error rate or latency breaks its bound, or is worse than the stable version's beyond the "
        "tolerance in spec.analysis, is hurting the users it serves; `shipyard rollout --analyze` aborts it.",
        "Merge the abort pull request; find why the version fails (its logs, the figures in the pull request) "
        "and register a fixed version.",
        raised_in=("lifecycle.analysis",)),
    _id("SY519", Family.MODEL,
        "Prometheus cannot answer the canary analysis",
        "A canary is judged only on figures Prometheus gives; when it cannot be reached, refuses a query or "
        "gives several series where one number is needed, nothing may be decided.",
        "Check the Prometheus URL (--prometheus-url, SHIPYARD_PROMETHEUS_URL, shipyard.yaml prometheus.url) and "
        "the queries in spec.analysis.",
        raised_in=("monitoring.prometheus",)),
    _id("SY900", Family.ENVIRONMENT,
        "Bad input or usage",
        "A missing file, an unknown model, environment or cluster, or a setting of the wrong shape: the "
        "command cannot start.",
        "Follow the message: it names the file and line, and lists what exists.",
        raised_in=("cli.e2e", "cli.pipeline", "cli.register", "cli.rollout", "cli.status", "e2e.canary", "e2e.plan",
            "e2e.predict", "e2e.scratch", "errors", "git", "lifecycle.apply", "lifecycle.guards",
            "lifecycle.pin_edit", "lifecycle.promote", "lifecycle.register", "lifecycle.rollback",
            "lifecycle.rollout", "load", "models.spec", "monitoring.prometheus", "monitoring.promtool", "pipelines", "render.engine",
            "render.run", "repo",
            "scaffold.cluster", "scaffold.common", "scaffold.init", "scaffold.model", "schemas.kubernetes",
            "serving.publish", "serving.runtimes", "serving.store", "mlflow.reference", "mlflow.importer", "cli.mlflow", "drift.detector", "drift.publish", "drift.release", "schemas.installed")),
    _id("SY901", Family.ENVIRONMENT,
        "Tool missing or the wrong version",
        "Renders are compared across machines, so helm and kustomize are pinned; another version renders "
        "differently.",
        "Run `make setup` (installs the pinned helm and kubectl into .venv/bin).",
        raised_in=("cli.e2e", "e2e.cluster", "e2e.pins", "envs", "git", "monitoring.promql", "monitoring.promtool",
            "render.binaries", "render.run", "schemas.kubernetes", "serving.rclone", "drift.detector")),
    _id("SY902", Family.ENVIRONMENT,
        "Mirror unusable",
        "SHIPYARD_MIRROR (or mirror: in shipyard.yaml) names a folder without charts/index.yaml or git/.",
        "Point it at a folder laid out like the upstream mirror, or unset it to use upstream.",
        raised_in=("render.mirror",)),
    _id("SY903", Family.ENVIRONMENT,
        "Render failed",
        "kustomize or helm refused the input (or ran past its time limit): nothing can be checked. A chart that "
        "cannot be fetched offline (an OCI chart the mirror does not hold) is a warning instead: that release "
        "was not rendered and its objects were not checked, the rest of the run goes on.",
        "Read the tool's own message, quoted in the error; a chart version or remote ref that does not exist "
        "is the usual cause.",
        raised_in=("render.engine", "render.helm", "render.preflight", "render.run")),
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
        "The artifact is missing, corrupt, out of reach in its store, or its sha256 differs from the registered "
        "one: serving it would serve something else. Publishing other bytes under a version the store already "
        "holds is refused for the same reason: artifacts are immutable.",
        "Download the registered artifact again, or register (and publish) the version anew; for a store, "
        "check its endpoint and credentials (docs/registry.md).",
        raised_in=("serving.artifact", "serving.fetch", "serving.folder_digest", "serving.publish", "serving.rclone",
                   "mlflow.importer", "drift.publish")),
    _id("SY913", Family.ENVIRONMENT,
        "Model server failed",
        "A port is taken, or the model server (the seldon-core microservice, or MLServer for protocol v2) stopped.",
        "Pick other ports, or read the server log the message names.",
        raised_in=("serving.server", "serving.session")),
    _id("SY914", Family.ENVIRONMENT,
        "End-to-end step failed",
        "On the kind cluster, a kubectl step was refused or timed out, a workload never became ready, or a "
        "model answered a prediction wrongly: what was deployed does not work.",
        "Read the step's message and the diagnostics folder it names (events, pod logs).",
        raised_in=("e2e.canary", "e2e.cluster", "e2e.predict")),
    _id("SY915", Family.ENVIRONMENT,
        "MLflow registry unusable",
        "The MLflow tracking server is not configured, cannot be reached, refuses the credentials, does not know "
        "the model version, or records an artifact URI a cluster cannot fetch (a local path, an mlflow-artifacts:/ "
        "URI without mlflow.artifactsDestination): importing it would register something no pod can download.",
        "Set --mlflow-uri, MLFLOW_TRACKING_URI or mlflow.trackingUri (and MLFLOW_TRACKING_TOKEN); keep the "
        "server's artifacts in object storage and name that place in mlflow.artifactsDestination (docs/registry.md).",
        raised_in=("mlflow.rest", "mlflow.settings", "mlflow.importer", "mlflow.tracking"),
        imitates="mlflow/mlflow mlflow/server/handlers.py (the REST API: _get_model_version, "
        "_get_model_version_by_alias, _set_registered_model_alias, _delete_registered_model_alias); "
        "mlflow/store/artifact/mlflow_artifacts_repo.py resolve_uri"),
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
MLFLOW_FAILED: Final = "SY915"


def info(id: str) -> IdInfo:
    """The catalogue entry of ``id``; KeyError for an id nobody registered."""
    return CATALOGUE[id]


def is_check_id(value: str) -> bool:
    return value in CATALOGUE

# Findings about waivers themselves (shipyard.waivers raises them).
INVALID_WAIVER: Final = "SY390"
UNUSED_WAIVER: Final = "SY391"
