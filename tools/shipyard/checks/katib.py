"""SY230-SY238: the rules Katib's admission webhooks enforce on an
Experiment, checked offline.

Katib v0.19.0 registers, for kubeflow.org/v1beta1 experiments on CREATE and
UPDATE, a defaulting webhook (``defaulter.experiment.katib.kubeflow.org``:
``Experiment.SetDefault`` in pkg/apis/controller/experiments/v1beta1/
experiment_defaults.go) and then a validating one
(``validator.experiment.katib.kubeflow.org``: ``ValidateExperiment`` in
pkg/webhook/v1beta1/experiment/validator/validator.go). Both come without
object or namespace selectors (manifests/v1beta1/components/webhook/
webhooks.yaml), so every Experiment is seen; a rendered
ValidatingWebhookConfiguration's selectors are applied when there is one.
The rules are judged on the Experiment as defaulted: parallelTrialCount 3
when unset, a StdOut metrics collector, the success and failure conditions
of Job and the Training Operator's kinds, the collectors' default sources.

The webhook reads katib-config (the ConfigMap ``katib-config``, key
``katib-config.yaml``) for the algorithms and collectors it accepts: the
rendered one when the run has it, else the lists of Katib v0.19.0's
katib-standalone install. A trial template kept in a ConfigMap is judged
when that ConfigMap is rendered. On UPDATE the webhook also allows only the
trial counts to change; the live object is not in git, so that is not
judged. Values outside the Go types' constants (an unknown parameterType,
distribution, collector kind or resumePolicy) are the strict schema's
(SY101), not reported twice here.
"""

from __future__ import annotations

import json
import os.path
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import yaml

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.checks.policies import TRIAL_SPEC_PATH, pod_specs
from shipyard.checks.seldon import namespace_labels, selects
from shipyard.findings import Finding
from shipyard.ids import CheckId
from shipyard.objects import JsonPath, K8sObject
from shipyard.render.target import RenderedTarget
from shipyard.shapes import as_dict, as_list, dig

WEBHOOK = "Katib's admission webhook refuses this"
API_VERSION = "kubeflow.org/v1beta1"
NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?")  # as compiled upstream: anchored at the start only
MAX_NAME = 40
DEFAULT_PARALLEL_TRIALS = 3  # DefaultTrialParallelCount
# consts.TrialTemplateParamReplaceFormatRegex / TrialTemplateMetaReplaceFormatRegex / ...MetaParseFormatRegex
TRIAL_PARAMETER = re.compile(r"\$\{trialParameters\..+?\}")
TRIAL_META = re.compile(r"\$\{trialSpec\.(.+?)\}")
TRIAL_META_INDEX = re.compile(r"(.+)\[(.+)]")
TRIAL_META_KEYS = ("Name", "Namespace", "Kind", "APIVersion", "Annotations", "Labels")
# setDefaultTrialTemplate: kinds whose success and failure conditions Katib fills in.
DEFAULTED_CONDITION_KINDS = frozenset({"Job", "TFJob", "PyTorchJob", "XGBoostJob", "MPIJob", "TrainJob"})
# AutoInjectMetricsCollectorList: collectors whose katib-config entry the webhook looks up.
AUTO_INJECT = ("StdOut", "TensorFlowEvent", "File", "PrometheusMetric")
# The CollectorKind constants; any other kind is the schema's to report.
COLLECTOR_KINDS = ("StdOut", "File", "TensorFlowEvent", "PrometheusMetric", "Custom", "Push")
TWO_GROUPS = re.compile(r".*\(.*\).*\(.*\).*")
KATIB_CONFIG = "katib-config"
KATIB_CONFIG_KEY = "katib-config.yaml"


@dataclass(frozen=True)
class KatibConfig:
    """What katib-config declares: algorithm names and collector kinds."""

    suggestions: frozenset[str]
    early_stoppings: frozenset[str]
    collectors: frozenset[str]
    source: str


# katib v0.19.0 manifests/v1beta1/installs/katib-standalone/katib-config.yaml
STANDALONE_CONFIG = KatibConfig(
    frozenset({"random", "tpe", "grid", "hyperband", "bayesianoptimization", "cmaes", "sobol", "multivariate-tpe",
               "enas", "darts", "pbt"}),
    frozenset({"medianstop"}),
    frozenset({"StdOut", "File", "TensorFlowEvent"}),
    "Katib v0.19.0's katib-standalone katib-config",
)


def katib_config(ctx: CheckContext) -> KatibConfig:
    """The rendered katib-config, or the standalone install's."""
    cached = ctx.cache.get("katib-config")
    if isinstance(cached, KatibConfig):
        return cached
    found = STANDALONE_CONFIG
    for _target, obj in ctx.objects():
        if obj.kind != "ConfigMap" or obj.api_version != "v1" or obj.name != KATIB_CONFIG:
            continue
        text = as_dict(obj.body.get("data")).get(KATIB_CONFIG_KEY)
        try:
            data = yaml.safe_load(text) if isinstance(text, str) else None
        except yaml.YAMLError:
            data = None
        runtime = as_dict(as_dict(data).get("runtime"))
        if not runtime:
            continue

        def names(key: str, field: str) -> frozenset[str]:
            return frozenset(str(as_dict(e).get(field)) for e in as_list(runtime.get(key)) if as_dict(e).get(field))

        found = KatibConfig(names("suggestions", "algorithmName"), names("earlyStoppings", "algorithmName"),
                            names("metricsCollectors", "kind"), f"katib-config in {obj.source}")
        break
    ctx.cache["katib-config"] = found
    return found


def webhook_sees(target: RenderedTarget, obj: K8sObject) -> bool:
    registrations = [
        webhook
        for config in target.objects
        if config.kind == "ValidatingWebhookConfiguration" and config.group == "admissionregistration.k8s.io"
        for webhook in map(as_dict, as_list(config.body.get("webhooks")))
        if any("experiments" in as_list(as_dict(r).get("resources")) and "kubeflow.org" in as_list(as_dict(r).get("apiGroups"))
               for r in as_list(webhook.get("rules")))
    ]
    if not registrations:
        return True
    labels = {str(k): str(v) for k, v in as_dict(obj.metadata.get("labels")).items()}
    ns_labels = namespace_labels(target, obj.namespace)
    return any(selects(w.get("objectSelector"), labels) and selects(w.get("namespaceSelector"), ns_labels)
               for w in registrations)


def experiments(ctx: CheckContext) -> Iterator[tuple[RenderedTarget, K8sObject]]:
    """The Experiments Katib's webhook judges."""
    for target, obj in ctx.objects():
        if obj.kind == "Experiment" and obj.api_version == API_VERSION and webhook_sees(target, obj):
            yield target, obj


def _refused(obj: K8sObject, check_id: CheckId, what: str, path: JsonPath, hint: str) -> Finding:
    return Finding.on(obj, check_id, f"{WEBHOOK}: {what}", path=path, hint=hint)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _spec(obj: K8sObject) -> dict[str, Any]:
    return as_dict(obj.body.get("spec"))


def _present(spec: dict[str, Any], key: str) -> JsonPath:
    """The field's path when it is written, else spec's (for the line)."""
    return ("spec", key) if key in spec else ("spec",)


@check("SY230")
def experiment_names(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in experiments(ctx):
        name = obj.name
        if not NAME.match(name) or len(name) > MAX_NAME:
            yield _refused(obj, "SY230", f"the Experiment name {name!r} must start with a lower-case letter and "
                           f"be at most {MAX_NAME} characters", ("metadata", "name"),
                           "start the name with a lower-case letter and keep it to 40 characters")


@check("SY231")
def trial_counts(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in experiments(ctx):
        spec = _spec(obj)
        max_trials = _int(spec.get("maxTrialCount"))
        max_failed = _int(spec.get("maxFailedTrialCount"))
        parallel = _int(spec.get("parallelTrialCount")) if "parallelTrialCount" in spec else DEFAULT_PARALLEL_TRIALS
        defaulted = "" if "parallelTrialCount" in spec else f" (defaulted to {DEFAULT_PARALLEL_TRIALS})"
        if max_failed is not None and max_failed < 0:
            yield _refused(obj, "SY231", "spec.maxFailedTrialCount must not be less than 0",
                           ("spec", "maxFailedTrialCount"), "set maxFailedTrialCount to 0 or more")
        if max_trials is not None and max_trials <= 0:
            yield _refused(obj, "SY231", "spec.maxTrialCount must be greater than 0", ("spec", "maxTrialCount"),
                           "set maxTrialCount to 1 or more")
        if parallel is not None and parallel <= 0:
            yield _refused(obj, "SY231", "spec.parallelTrialCount must be greater than 0",
                           ("spec", "parallelTrialCount"), "set parallelTrialCount to 1 or more")
        if max_failed is not None and max_trials is not None and max_failed > max_trials:
            yield _refused(obj, "SY231", f"spec.maxFailedTrialCount {max_failed} is more than spec.maxTrialCount "
                           f"{max_trials}", ("spec", "maxFailedTrialCount"),
                           "keep maxFailedTrialCount at or below maxTrialCount")
        if parallel is not None and max_trials is not None and parallel > max_trials and max_trials > 0:
            yield _refused(obj, "SY231", f"spec.parallelTrialCount {parallel}{defaulted} is more than "
                           f"spec.maxTrialCount {max_trials}", _present(spec, "parallelTrialCount"),
                           "keep parallelTrialCount at or below maxTrialCount (set it when maxTrialCount is below 3)")


@check("SY232")
def objective(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in experiments(ctx):
        spec = _spec(obj)
        goal = spec.get("objective")
        if not isinstance(goal, dict):
            yield _refused(obj, "SY232", "spec.objective must be specified", ("spec",),
                           "add spec.objective with its type and objectiveMetricName")
            continue
        path: JsonPath = ("spec", "objective")
        kind = goal.get("type")
        if kind in (None, ""):
            yield _refused(obj, "SY232", "spec.objective.type must be minimize or maximize",
                           (*path, "type") if "type" in goal else path, "set type: minimize or type: maximize")
        metric = goal.get("objectiveMetricName")
        if not isinstance(metric, str) or not metric:
            yield _refused(obj, "SY232", "spec.objective.objectiveMetricName must be specified", path,
                           "name the metric the trials print")
        elif metric in as_list(goal.get("additionalMetricNames")):
            yield _refused(obj, "SY232", f"spec.objective.additionalMetricNames must not contain the objective "
                           f"metric {metric!r}", (*path, "additionalMetricNames"),
                           "drop the objective metric from additionalMetricNames")


@check("SY233")
def algorithms(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in experiments(ctx):
        config = katib_config(ctx)
        spec = _spec(obj)
        algorithm = spec.get("algorithm")
        if not isinstance(algorithm, dict):
            yield _refused(obj, "SY233", "spec.algorithm must be specified", ("spec",),
                           "add spec.algorithm.algorithmName (random, tpe, grid, ...)")
        else:
            yield from _algorithm(obj, algorithm, ("spec", "algorithm"), config.suggestions, config, "suggestion")
        early = spec.get("earlyStopping")
        if isinstance(early, dict):
            yield from _algorithm(obj, early, ("spec", "earlyStopping"), config.early_stoppings, config,
                                  "early stopping")


def _algorithm(obj: K8sObject, spec: dict[str, Any], path: JsonPath, known: frozenset[str], config: KatibConfig,
               what: str) -> Iterator[Finding]:
    name = spec.get("algorithmName")
    if not isinstance(name, str) or not name:
        yield _refused(obj, "SY233", f"{'.'.join(map(str, path))}.algorithmName must be specified", path,
                       f"name one of: {', '.join(sorted(known))}")
    elif name not in known:
        yield _refused(obj, "SY233", f"{what} algorithm {name!r} has no entry in {config.source}",
                       (*path, "algorithmName"), f"use one of: {', '.join(sorted(known))}, or add it to katib-config")


@check("SY234")
def search_space(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in experiments(ctx):
        spec = _spec(obj)
        parameters = as_list(spec.get("parameters"))
        nas = spec.get("nasConfig")
        if not parameters and nas is None:
            yield _refused(obj, "SY234", "spec.parameters or spec.nasConfig must be specified", ("spec",),
                           "declare the search space in spec.parameters")
        if parameters and nas is not None:
            yield _refused(obj, "SY234", "only one of spec.parameters and spec.nasConfig can be specified",
                           ("spec", "nasConfig"), "keep one of them")
        for index, parameter in enumerate(parameters):
            yield from _parameter(obj, as_dict(parameter), ("spec", "parameters", index))


def _parameter(obj: K8sObject, parameter: dict[str, Any], path: JsonPath) -> Iterator[Finding]:
    kind = parameter.get("parameterType")
    space = parameter.get("feasibleSpace")
    label = f"parameter {parameter.get('name')!r}"
    # Go compares the decoded struct with FeasibleSpace{}: empty strings and lists are zero values.
    values = {k: v for k, v in as_dict(space).items() if v not in (None, "", [])}
    if not values:
        yield _refused(obj, "SY234", f"{label}: feasibleSpace must be specified", path,
                       "give the parameter a feasibleSpace (min and max, or a list)")
        return
    s_path: JsonPath = (*path, "feasibleSpace")
    if kind in ("double", "int"):
        if "list" in values:
            yield _refused(obj, "SY234", f"{label}: feasibleSpace.list is not supported for parameterType {kind}",
                           (*s_path, "list"), "use min and max (and step) for int and double parameters")
        if "max" not in values or "min" not in values:
            yield _refused(obj, "SY234", f"{label}: feasibleSpace.max and feasibleSpace.min must be specified for "
                           f"parameterType {kind}", s_path, "set both min and max")
    elif kind in ("categorical", "discrete"):
        if {"max", "min", "step"} & set(values):
            yield _refused(obj, "SY234", f"{label}: feasibleSpace max, min and step are not supported for "
                           f"parameterType {kind}", s_path, "list the values in feasibleSpace.list")


def trial_template_text(ctx: CheckContext, obj: K8sObject) -> str | None:
    """The trial template as the webhook reads it (GetTrialTemplate): the
    trial spec marshalled to JSON, or the ConfigMap entry it references when
    that ConfigMap is rendered; None when it cannot be known here."""
    template = as_dict(dig(obj.body, "spec", "trialTemplate"))
    trial = template.get("trialSpec")
    if isinstance(trial, dict):
        return json.dumps(trial, separators=(",", ":"), ensure_ascii=False)
    ref = as_dict(template.get("configMap"))
    for _target, other in ctx.objects():
        if (other.kind == "ConfigMap" and other.api_version == "v1" and other.name == ref.get("configMapName")
                and other.namespace == ref.get("configMapNamespace")):
            text = as_dict(other.body.get("data")).get(str(ref.get("templatePath")))
            if isinstance(text, str):
                try:
                    loaded = yaml.safe_load(text)
                except yaml.YAMLError:
                    return text
                return json.dumps(loaded, separators=(",", ":"), ensure_ascii=False)
    return None


@check("SY235")
def trial_template(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in experiments(ctx):
        spec = _spec(obj)
        template = spec.get("trialTemplate")
        if not isinstance(template, dict):
            yield _refused(obj, "SY235", "spec.trialTemplate must be specified", ("spec",),
                           "add spec.trialTemplate with trialSpec, primaryContainerName and trialParameters")
            continue
        path: JsonPath = ("spec", "trialTemplate")
        trial = template.get("trialSpec")
        if not template.get("primaryContainerName"):
            yield _refused(obj, "SY235", "trialTemplate.primaryContainerName must be specified", path,
                           "name the container whose output Katib collects metrics from")
        trial_kind = as_dict(trial).get("kind")
        defaulted = trial is not None and isinstance(trial_kind, str) and trial_kind in DEFAULTED_CONDITION_KINDS
        if not defaulted and not (template.get("successCondition") and template.get("failureCondition")):
            yield _refused(obj, "SY235", "trialTemplate.successCondition and failureCondition must be specified "
                           f"(Katib defaults them only for {', '.join(sorted(DEFAULTED_CONDITION_KINDS))})", path,
                           "write both conditions in GJSON, as Katib's examples do")
        if template.get("trialParameters") is None:
            yield _refused(obj, "SY235", "trialTemplate.trialParameters must be specified", path,
                           "list the parameters the template substitutes")
            continue
        config_map = template.get("configMap")
        if trial is None and config_map is None:
            yield _refused(obj, "SY235", "trialTemplate.trialSpec or trialTemplate.configMap must be specified",
                           path, "write the trial's job under trialSpec")
            continue
        if trial is not None and config_map is not None:
            yield _refused(obj, "SY235", "only one of trialTemplate.trialSpec and trialTemplate.configMap can be "
                           "specified", (*path, "configMap"), "keep one of them")
            continue
        if config_map is not None:
            ref = as_dict(config_map)
            if not all(ref.get(k) for k in ("configMapName", "configMapNamespace", "templatePath")):
                yield _refused(obj, "SY235", "trialTemplate.configMap needs configMapName, configMapNamespace and "
                               "templatePath", (*path, "configMap"), "set all three")
            continue
        body = as_dict(trial)
        meta = as_dict(body.get("metadata"))
        if meta.get("name") or meta.get("namespace"):
            yield _refused(obj, "SY235", "metadata.name and metadata.namespace in the trial spec must be omitted",
                           (*TRIAL_SPEC_PATH, "metadata"), "drop them: Katib names each trial's job itself")
        if not body.get("apiVersion") or not body.get("kind"):
            yield _refused(obj, "SY235", "apiVersion and kind in the trial spec must be specified", TRIAL_SPEC_PATH,
                           "set the trial job's apiVersion and kind")


def _is_meta_key(reference: str) -> bool:
    """isMetaKey: a ${trialSpec.Name}-style reference to the trial's metadata."""
    match = TRIAL_META.search(reference)
    if not match:
        return False
    key = match.group(1)
    if key in TRIAL_META_KEYS:
        return True
    sub = TRIAL_META_INDEX.search(key)
    return sub is not None and sub.group(1) in TRIAL_META_KEYS


@check("SY236")
def trial_parameters(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in experiments(ctx):
        spec = _spec(obj)
        template = as_dict(spec.get("trialTemplate"))
        parameters = template.get("trialParameters")
        if parameters is None or (template.get("trialSpec") is None) == (template.get("configMap") is None):
            continue  # SY235's
        text = trial_template_text(ctx, obj)
        declared = {str(as_dict(p).get("name")) for p in as_list(spec.get("parameters"))}
        names: set[str] = set()
        refs: set[str] = set()
        path: JsonPath = ("spec", "trialTemplate", "trialParameters")
        for index, parameter in enumerate(map(as_dict, as_list(parameters))):
            name, ref = parameter.get("name"), parameter.get("reference")
            p_path: JsonPath = (*path, index)
            if not isinstance(name, str) or not isinstance(ref, str) or not name or not ref or "{" in name or "}" in name:
                yield _refused(obj, "SY236", f"trialParameters[{index}]: name and reference must be specified and "
                               "the name must not contain '{' or '}'", p_path, "give it a plain name and a reference")
                continue
            if name in names:
                yield _refused(obj, "SY236", f"trial parameter name {name!r} is repeated", (*p_path, "name"),
                               "give each trial parameter its own name")
                continue
            if ref in refs:
                yield _refused(obj, "SY236", f"trial parameter reference {ref!r} is repeated", (*p_path, "reference"),
                               "reference each search parameter once")
                continue
            names.add(name)
            refs.add(ref)
            if spec.get("parameters") and not _is_meta_key(ref) and ref not in declared:
                yield _refused(obj, "SY236", f"trial parameter {name!r} references {ref!r}, which is not in "
                               f"spec.parameters ({', '.join(sorted(declared))})", (*p_path, "reference"),
                               "reference a spec.parameters name, or a ${trialSpec.Name}-style key")
            placeholder = f"${{trialParameters.{name}}}"
            if text is not None:
                if placeholder not in text:
                    yield _refused(obj, "SY236", f"trial parameter {name!r} is not used in the trial template "
                                   f"(no {placeholder})", (*p_path, "name"),
                                   f"use {placeholder} in the trial spec, or drop the parameter")
                    break  # the webhook stops here
                text = text.replace(placeholder, "test-value")
        else:
            left = sorted(set(TRIAL_PARAMETER.findall(text))) if text is not None else []
            if left:
                yield _refused(obj, "SY236", f"the trial template uses {', '.join(left)}, not defined in "
                               "trialTemplate.trialParameters", _first_use(obj, left[0]),
                               "define each of them in trialTemplate.trialParameters")


def _first_use(obj: K8sObject, placeholder: str) -> JsonPath:
    """The path of the first string in the trial spec that holds
    ``placeholder`` (for the finding's line)."""
    def walk(node: Any, path: JsonPath) -> JsonPath | None:
        if isinstance(node, str):
            return path if placeholder in node else None
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            found = walk(child, (*path, key))
            if found is not None:
                return found
        return None

    return walk(dig(obj.body, *TRIAL_SPEC_PATH), TRIAL_SPEC_PATH) or TRIAL_SPEC_PATH


@check("SY237")
def primary_container(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in experiments(ctx):
        template = as_dict(dig(obj.body, "spec", "trialTemplate"))
        name = template.get("primaryContainerName")
        if not isinstance(name, str) or not name or not isinstance(template.get("trialSpec"), dict):
            continue
        pods = list(pod_specs(obj))
        if not pods:
            continue  # a kind whose pods cannot be found here (an Argo Workflow, a TrainJob...)
        containers = {str(as_dict(c).get("name")) for pod in pods for _p, c in pod.containers(init=False)}
        if name not in containers:
            yield Finding.on(obj, "SY237", f"no container of the trial spec is named {name!r} "
                             f"(containers: {', '.join(sorted(containers)) or 'none'}): Katib collects no metric "
                             "and every trial ends without an objective value",
                             path=("spec", "trialTemplate", "primaryContainerName"),
                             hint="set primaryContainerName to the training container's name")


@check("SY238")
def metrics_collector(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in experiments(ctx):
        config = katib_config(ctx)
        spec = _spec(obj)
        mc = as_dict(spec.get("metricsCollectorSpec"))
        mc_path: JsonPath = ("spec", "metricsCollectorSpec") if "metricsCollectorSpec" in spec else ("spec",)
        collector = as_dict(mc.get("collector"))
        kind = collector.get("kind", "StdOut") if "collector" in mc else "StdOut"
        if kind not in COLLECTOR_KINDS:
            continue  # the schema's (SY101)
        k_path: JsonPath = (*mc_path, "collector", "kind") if "collector" in mc else mc_path
        source = as_dict(mc.get("source"))
        fs = as_dict(source.get("fileSystemPath"))
        if kind in AUTO_INJECT and kind not in config.collectors:
            yield _refused(obj, "SY238", f"metrics collector {kind!r} has no entry in {config.source}", k_path,
                           f"use one of: {', '.join(sorted(config.collectors))}, or add it to katib-config")
        fs_path: JsonPath = (*mc_path, "source", "fileSystemPath") if fs else mc_path
        if kind == "File":
            fs_kind = fs.get("kind") or "File"
            path = fs.get("path") or "/var/log/katib/metrics.log"
            file_format = fs.get("format") or "TEXT"
            if fs_kind != "File" or not (isinstance(path, str) and os.path.isabs(path)):
                yield _refused(obj, "SY238", "a File collector needs fileSystemPath.kind File and an absolute path",
                               fs_path, "set fileSystemPath: {kind: File, path: /abs/path/metrics.log}")
            if file_format not in ("TEXT", "JSON"):
                yield _refused(obj, "SY238", "a File collector's fileSystemPath.format must be TEXT or JSON", fs_path,
                               "set format: TEXT or format: JSON")
            if file_format == "JSON" and source.get("filter") is not None:
                yield _refused(obj, "SY238", "filter must be unset when the metrics file is JSON",
                               (*mc_path, "source", "filter"), "drop source.filter")
        elif kind == "TensorFlowEvent":
            fs_kind = fs.get("kind") or "Directory"
            path = fs.get("path") or "/var/log/katib/tfevent/"
            if fs_kind != "Directory" or not (isinstance(path, str) and os.path.isabs(path)):
                yield _refused(obj, "SY238", "a TensorFlowEvent collector needs fileSystemPath.kind Directory and an "
                               "absolute path", fs_path, "set fileSystemPath: {kind: Directory, path: /abs/dir/}")
            if fs.get("format"):
                yield _refused(obj, "SY238", "a TensorFlowEvent collector's fileSystemPath.format must be empty",
                               (*fs_path, "format"), "drop format")
        elif kind == "PrometheusMetric":
            http = as_dict(source.get("httpGet"))
            port = http.get("port") if http.get("port") not in (None, 0, "0", "") else 8080
            number = port if isinstance(port, int) else int(port) if isinstance(port, str) and port.isdigit() else 0
            if number <= 0:
                yield _refused(obj, "SY238", f"a PrometheusMetric collector's port {port!r} must be a positive integer",
                               (*mc_path, "source", "httpGet", "port"), "use a port number")
            path = http.get("path") or "/metrics"
            if not (isinstance(path, str) and path.startswith("/")):
                yield _refused(obj, "SY238", f"a PrometheusMetric collector's path {path!r} must start with '/'",
                               (*mc_path, "source", "httpGet", "path"), "start the path with '/'")
        elif kind == "Custom":
            if collector.get("customCollector") is None:
                yield _refused(obj, "SY238", "a Custom collector needs collector.customCollector", k_path,
                               "add the collector's container under customCollector")
            if fs and (not (isinstance(fs.get("path"), str) and os.path.isabs(fs["path"]))
                       or fs.get("kind") not in ("Directory", "File")):
                yield _refused(obj, "SY238", "a Custom collector's fileSystemPath needs an absolute path and kind "
                               "Directory or File", fs_path, "fix source.fileSystemPath")
        if kind in ("StdOut", "Push"):
            continue  # the webhook returns before judging filters
        for index, pattern in enumerate(as_list(as_dict(source.get("filter")).get("metricsFormat"))):
            f_path: JsonPath = (*mc_path, "source", "filter", "metricsFormat", index)
            try:
                re.compile(str(pattern))
            except re.error as exc:
                yield _refused(obj, "SY238", f"filter {pattern!r} does not compile: {exc}", f_path,
                               "fix the regular expression")
                continue
            if not TWO_GROUPS.match(str(pattern)):
                yield _refused(obj, "SY238", f"filter {pattern!r} needs two groups (metric name, metric value)",
                               f_path, "write the filter with two groups, like ([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?)")
