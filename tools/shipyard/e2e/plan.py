"""The apply order of a cluster entry point, computed from what it renders to.

A cluster entry point renders (shipyard.render.engine) to the GitOps objects
(Flux Kustomizations and HelmReleases, Argo CD Applications) and to every
object they deploy, each tagged with the one that produced it. This module
turns that into ordered steps, the way the engine would install them on an
empty cluster, so the kind suite applies exactly what a real sync does and in
an order that works:

- Every producer is a *unit*. A unit is applied in two stages, as Flux's
  kustomize-controller and Helm do: first its Namespaces and
  CustomResourceDefinitions, then everything else (split further by Argo CD sync waves and
  by hooks: PreSync / pre-install before, PostSync / post-install after).
- A unit starts after the unit that creates its GitOps object; after every
  unit it `dependsOn` (Flux); after the lower sync waves of its siblings
  (Argo CD), including everything those deploy.
- CRDs before the objects of their kinds and namespaces before the objects in
  them: when the CRD or Namespace comes from another unit, the dependency is
  inferred, and the step says so. A kind whose CRD nothing installs, a
  namespace nothing creates, a `dependsOn` that names nothing and a cycle are
  errors that name the files involved.

The GitOps objects themselves are read for the order but not applied: the
kind suite installs what the engine would deploy, not the engine.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from shipyard.render.target import RenderedTarget
from shipyard.errors import ShipyardError
from shipyard.objects import K8sObject, Source

if TYPE_CHECKING:
    from shipyard.repo import Cluster, Repository

FLUX_GROUPS = frozenset({
    "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io",
    "notification.toolkit.fluxcd.io", "image.toolkit.fluxcd.io",
})
ARGO_KINDS = frozenset({"Application", "AppProject", "ApplicationSet"})
FLUX_KUSTOMIZATION = ("kustomize.toolkit.fluxcd.io", "Kustomization")
FLUX_HELMRELEASE = ("helm.toolkit.fluxcd.io", "HelmRelease")
ARGO_APPLICATION = ("argoproj.io", "Application")
PRODUCERS = (FLUX_KUSTOMIZATION, FLUX_HELMRELEASE, ARGO_APPLICATION)

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
ARGO_HOOK = "argocd.argoproj.io/hook"
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"

# Namespaces every cluster has before anything is applied.
PRESET_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
DEFINITION_KINDS = ("CustomResourceDefinition", "Namespace")

# Within a stage: the order Helm installs built-in kinds in; custom resources
# after them; admission webhooks last, so a chart's own objects are not sent to
# a webhook whose server has not started yet.
_BUILTIN_ORDER = [
    "PriorityClass", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList",
    "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController",
    "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass",
    "Ingress", "APIService",
]
_WEBHOOK_KINDS = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
_CUSTOM_RANK = len(_BUILTIN_ORDER)

PRE, MAIN, POST = 0, 1, 2
_PHASE_NAMES = {PRE: "pre-install hooks", MAIN: "", POST: "post-install hooks"}


class PlanError(ShipyardError):
    """The entry point cannot be installed in any order: a cycle, or a
    reference to something nothing creates."""


@dataclass(frozen=True)
class Step:
    """Objects applied together, after every earlier step is ready.

    ``unit`` names the GitOps object that deploys them (or the entry point),
    ``after`` says why this step waits for others (one reason per line).
    ``wait`` is the engine's own rule: Flux waits for a Kustomization's
    objects only with ``wait: true`` or health checks, for a HelmRelease's
    unless ``install.disableWait``; Argo CD waits for health between waves.
    CRDs are always waited for (Established) before the step goes on."""

    name: str
    unit: str
    stage: str
    objects: tuple[K8sObject, ...]
    after: tuple[str, ...] = ()
    wait: bool = True  # the engine waits for these objects to be ready before it goes on


@dataclass(frozen=True)
class Skipped:
    obj: K8sObject
    reason: str


@dataclass
class Plan:
    target: str
    engine: str | None
    steps: list[Step]
    skipped: list[Skipped] = field(default_factory=list)

    def ordered_objects(self) -> list[K8sObject]:
        return [obj for step in self.steps for obj in step.objects]


def is_builtin_group(group: str) -> bool:
    """Served by the API server itself (no CRD needed): the core group,
    dotless groups (apps, batch, policy, autoscaling) and *.k8s.io."""
    return group == "" or "." not in group or group.endswith(".k8s.io")


def is_engine_object(obj: K8sObject) -> bool:
    """Objects the GitOps engine's own controllers read (not applied by the suite)."""
    return obj.group in FLUX_GROUPS or (obj.group == "argoproj.io" and obj.kind in ARGO_KINDS)


def identity(obj: K8sObject) -> tuple[str, str, str, str]:
    return (obj.group, obj.kind, obj.namespace, obj.name)


def describe(obj: K8sObject) -> str:
    ns = f"{obj.namespace}/" if obj.namespace else ""
    return f"{obj.kind} {ns}{obj.name}"


def _annotations(obj: K8sObject) -> dict[str, Any]:
    value = obj.metadata.get("annotations")
    return value if isinstance(value, dict) else {}


def _int_annotation(obj: K8sObject, key: str) -> int:
    raw = _annotations(obj).get(key)
    if raw is None or str(raw).strip() == "":
        return 0
    try:
        return int(str(raw).strip())
    except ValueError:
        raise PlanError(
            f"{describe(obj)}: annotation {key}={raw!r} is not an integer",
            file=obj.source.path, line=obj.line_of(("metadata", "annotations", key)) or None,
            hint="sync waves and hook weights are integers, e.g. \"-1\"", check="SY900",
        ) from None


def _source_of(obj: K8sObject | None) -> tuple[str | None, int | None]:
    if obj is None:
        return None, None
    return obj.source.path, (obj.source.line or None)


# -- units --------------------------------------------------------------------


@dataclass
class _Unit:
    label: str
    producer: K8sObject | None
    order: int
    parent: str | None = None
    members: list[tuple[int, K8sObject]] = field(default_factory=list)  # applied objects
    gitops: list[tuple[int, K8sObject]] = field(default_factory=list)  # GitOps objects it creates
    children: list[str] = field(default_factory=list)
    groups: list[tuple[int, int]] = field(default_factory=list)  # resource sub-steps: (phase, wave)

    @property
    def last(self) -> int:
        return len(self.groups)


def unit_label(obj: K8sObject) -> str:
    """How the renderer names a GitOps object in a target string."""
    if (obj.group, obj.kind) == ARGO_APPLICATION:
        return f"Application {obj.name}"
    if (obj.group, obj.kind) == FLUX_HELMRELEASE:
        return f"HelmRelease {obj.namespace or 'default'}/{obj.name}"
    return f"Kustomization {obj.namespace}/{obj.name}"


def _producer_label(target: str, root: str) -> str:
    if not target or target == root or " > " not in target:
        return root
    return target.rsplit(" > ", 1)[1]


def _depends_on(obj: K8sObject) -> list[tuple[int, str, str]]:
    spec = obj.body.get("spec")
    items = spec.get("dependsOn") if isinstance(spec, dict) else None
    result = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("name"):
            result.append((index, str(item.get("namespace") or obj.namespace), str(item["name"])))
    return result


def _created_namespace(obj: K8sObject) -> str | None:
    """The namespace a GitOps object creates itself: Flux HelmRelease
    install.createNamespace, Argo CD syncOptions CreateNamespace=true."""
    spec = obj.body.get("spec")
    if not isinstance(spec, dict):
        return None
    if (obj.group, obj.kind) == FLUX_HELMRELEASE:
        install = spec.get("install")
        if isinstance(install, dict) and install.get("createNamespace") is True:
            return str(spec.get("targetNamespace") or obj.namespace or "default")
    if (obj.group, obj.kind) == ARGO_APPLICATION:
        policy = spec.get("syncPolicy")
        options = policy.get("syncOptions") if isinstance(policy, dict) else None
        if isinstance(options, list) and "CreateNamespace=true" in [str(o).replace(" ", "") for o in options]:
            destination = spec.get("destination")
            ns = destination.get("namespace") if isinstance(destination, dict) else None
            return str(ns) if ns else None
    return None


def _phase_and_wave(obj: K8sObject, waves: bool) -> tuple[int, int] | str:
    """(phase, wave) of an object inside its unit, or the reason it is not
    installed at all (test hooks, delete hooks, Skip)."""
    notes = _annotations(obj)
    argo_hook = notes.get(ARGO_HOOK)
    wave = _int_annotation(obj, SYNC_WAVE) if waves else 0
    if argo_hook is not None:
        hooks = {h.strip() for h in str(argo_hook).split(",")}
        if "PreSync" in hooks:
            return (PRE, wave)
        if "Sync" in hooks:
            return (MAIN, wave)
        if "PostSync" in hooks:
            return (POST, wave)
        return f"Argo CD hook {argo_hook}: not run by a first sync"
    helm_hook = notes.get(HELM_HOOK)
    if helm_hook is not None:
        hooks = {h.strip() for h in str(helm_hook).split(",")}
        weight = _int_annotation(obj, HELM_HOOK_WEIGHT)
        if "pre-install" in hooks:
            return (PRE, weight)
        if "post-install" in hooks:
            return (POST, weight)
        return f"Helm hook {helm_hook}: not run by an install"
    return (MAIN, wave)


def _kind_rank(obj: K8sObject) -> int:
    if is_builtin_group(obj.group):
        if obj.kind in _WEBHOOK_KINDS:
            return _CUSTOM_RANK + 1 + _WEBHOOK_KINDS.index(obj.kind)
        if obj.kind in _BUILTIN_ORDER:
            return _BUILTIN_ORDER.index(obj.kind)
    return _CUSTOM_RANK


def _synthetic_namespace(name: str, creator: K8sObject, label: str) -> K8sObject:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    return K8sObject(body=body, source=Source(creator.source.path, creator.source.line), target=label)


def prerequisite_groups(target: RenderedTarget) -> set[str]:
    """API groups the cluster serves before any GitOps engine syncs
    (cluster.yaml spec.prerequisites.crdGroups), e.g. monitoring.coreos.com
    where the platform team runs its own prometheus-operator."""
    if target.cluster is None:
        return set()
    spec = target.cluster.raw.get("spec") or {}
    prerequisites = spec.get("prerequisites") if isinstance(spec, dict) else None
    groups = prerequisites.get("crdGroups") if isinstance(prerequisites, dict) else None
    return {str(g) for g in groups} if isinstance(groups, list) else set()


class _Builder:
    def __init__(self, target: RenderedTarget) -> None:
        self.target = target
        self.root = target.name
        self.engine = target.engine
        self.units: dict[str, _Unit] = {self.root: _Unit(label=self.root, producer=None, order=-1)}
        self.skipped: list[Skipped] = []
        self.edges: dict[tuple[str, int], dict[tuple[str, int], str]] = {}
        self.position: dict[int, tuple[str, int]] = {}  # id(obj) -> node
        self.prerequisite_groups = prerequisite_groups(target)

    # -- collect --------------------------------------------------------

    def collect(self) -> None:
        objects = self.target.objects
        gitops = [(i, o) for i, o in enumerate(objects) if (o.group, o.kind) in PRODUCERS]
        for index, obj in gitops:
            label = unit_label(obj)
            if label not in self.units:
                self.units[label] = _Unit(label=label, producer=obj, order=index)
        seen: dict[tuple[str, str, str, str], tuple[K8sObject, str]] = {}
        for index, obj in enumerate(objects):
            owner = self._unit_for(obj)
            if is_engine_object(obj):
                if (obj.group, obj.kind) in PRODUCERS and unit_label(obj) in self.units:
                    child = self.units[unit_label(obj)]
                    if child.producer is obj:
                        child.parent = owner.label
                        owner.children.append(child.label)
                        owner.gitops.append((index, obj))
                self.skipped.append(Skipped(obj, "read by the GitOps engine; the suite applies what it deploys"))
                continue
            key = identity(obj)
            if key in seen:
                first, first_unit = seen[key]
                if first.body != obj.body:
                    raise PlanError(
                        f"{describe(obj)} is deployed twice with different content: by {first_unit} "
                        f"({first.source}) and by {owner.label} ({obj.source})",
                        file=obj.source.path, line=obj.source.line or None,
                        hint="deploy each object from one place only", check="SY900",
                    )
                self.skipped.append(Skipped(obj, f"also deployed by {first_unit}; applied once"))
                continue
            seen[key] = (obj, owner.label)
            owner.members.append((index, obj))
        self._add_created_namespaces({k[3] for k in seen if k[1] == "Namespace" and k[0] == ""})

    def _unit_for(self, obj: K8sObject) -> _Unit:
        label = _producer_label(obj.target, self.root)
        unit = self.units.get(label)
        if unit is None:  # a producer the render did not keep: treat it as the entry point's
            unit = self.units[self.root]
        return unit

    def _add_created_namespaces(self, declared: set[str]) -> None:
        for unit in self.units.values():
            if unit.producer is None:
                continue
            name = _created_namespace(unit.producer)
            if name and name not in declared and name not in PRESET_NAMESPACES:
                unit.members.insert(0, (unit.order, _synthetic_namespace(name, unit.producer, unit.label)))
                declared.add(name)

    # -- positions --------------------------------------------------------

    def place(self) -> None:
        """Give every object (and every GitOps object, for the graph) its node:
        (unit, 0) for definitions, (unit, k) for the k-th resource group."""
        for unit in self.units.values():
            waves = self.engine == "argocd" or (unit.producer is not None and (unit.producer.group, unit.producer.kind) == ARGO_APPLICATION)
            keyed: list[tuple[tuple[int, int], int, K8sObject]] = []
            for index, obj in unit.members:
                if obj.kind in DEFINITION_KINDS and is_builtin_group(obj.group):
                    self.position[id(obj)] = (unit.label, 0)
                    continue
                where = _phase_and_wave(obj, waves)
                if isinstance(where, str):
                    self.skipped.append(Skipped(obj, where))
                    continue
                keyed.append((where, index, obj))
            for index, obj in unit.gitops:
                where = _phase_and_wave(obj, waves)
                keyed.append((where if not isinstance(where, str) else (MAIN, 0), index, obj))
            unit.groups = sorted({k for k, _, _ in keyed}) or [(MAIN, 0)]
            for key, _, obj in keyed:
                self.position[id(obj)] = (unit.label, unit.groups.index(key) + 1)
            unit.members = [(i, o) for i, o in unit.members if id(o) in self.position]

    # -- edges ------------------------------------------------------------

    def edge(self, source: tuple[str, int], dest: tuple[str, int], reason: str) -> None:
        if source == dest:
            return
        self.edges.setdefault(dest, {}).setdefault(source, reason)

    def subtree(self, label: str) -> list[str]:
        out = [label]
        for child in self.units[label].children:
            out += self.subtree(child)
        return out

    def link(self) -> None:
        for unit in self.units.values():
            for k in range(unit.last):
                self.edge((unit.label, k), (unit.label, k + 1), "")
        for unit in self.units.values():
            for _, obj in unit.gitops:
                child = self.units[unit_label(obj)]
                self.edge(self.position[id(obj)], (child.label, 0), f"{unit.label} creates {child.label}")
                # A later wave (or hook phase) of the parent waits for this
                # child and everything it deploys, as Argo CD waits for health.
                node = self.position[id(obj)]
                later = [self.units[unit_label(o)].label for _, o in unit.gitops if self.position[id(o)][1] > node[1]]
                for label in self.subtree(child.label):
                    done = (label, self.units[label].last)
                    for k in range(node[1] + 1, unit.last + 1):
                        self.edge(done, (unit.label, k), f"{child.label} (and all it deploys) is in an earlier sync wave")
                    for sibling in later:
                        self.edge(done, (sibling, 0), f"{child.label} (and all it deploys) is in an earlier sync wave")
        self._depends_on()
        self._inferred()

    def _depends_on(self) -> None:
        for unit in self.units.values():
            obj = unit.producer
            if obj is None or (obj.group, obj.kind) not in (FLUX_KUSTOMIZATION, FLUX_HELMRELEASE):
                continue
            for index, ns, name in _depends_on(obj):
                dep = self._find_producer(obj.group, obj.kind, ns, name)
                if dep is None:
                    raise PlanError(
                        f"{unit.label} dependsOn {obj.kind} {ns}/{name}, which this entry point does not define",
                        file=obj.source.path, line=obj.line_of(("spec", "dependsOn", index)) or None,
                        hint=f"fix the name, or add the {obj.kind} it waits for", check="SY402",
                    )
                for label in self.subtree(dep.label):
                    self.edge((label, self.units[label].last), (unit.label, 0), f"{unit.label} dependsOn {dep.label}")

    def _find_producer(self, group: str, kind: str, namespace: str, name: str) -> _Unit | None:
        for unit in self.units.values():
            obj = unit.producer
            if obj is not None and obj.group == group and obj.kind == kind and obj.name == name:
                if (obj.namespace or "default") == (namespace or "default"):
                    return unit
        return None

    def _inferred(self) -> None:
        crds: dict[tuple[str, str], tuple[str, K8sObject]] = {}
        namespaces: dict[str, str] = {}
        for unit in self.units.values():
            for _, obj in unit.members:
                if obj.kind == "CustomResourceDefinition" and obj.group == "apiextensions.k8s.io":
                    spec = obj.body.get("spec") or {}
                    names = spec.get("names") or {}
                    crds.setdefault((str(spec.get("group", "")), str(names.get("kind", ""))), (unit.label, obj))
                elif obj.kind == "Namespace" and obj.group == "":
                    namespaces.setdefault(obj.name, unit.label)
        for unit in self.units.values():
            for _, obj in unit.members:
                node = self.position[id(obj)]
                found = crds.get((obj.group, obj.kind))
                if found is not None:
                    owner, crd = found
                    if owner != unit.label:
                        self.edge((owner, self.units[owner].last), node,
                                  f"{describe(obj)} needs CRD {crd.name} (and its controller) from {owner}")
                elif not is_builtin_group(obj.group) and obj.group not in self.prerequisite_groups:
                    raise PlanError(
                        f"{describe(obj)} is a {obj.kind} ({obj.api_version}), and nothing in {self.root} "
                        "installs its CustomResourceDefinition",
                        file=obj.source.path, line=obj.source.line or None,
                        hint="deploy the CRD (its chart or kustomize base) from this entry point, or drop the object",
                        check="SY402",
                    )
                ns = obj.namespace
                if not ns or (obj.kind == "Namespace" and obj.group == ""):
                    continue
                owner_ns = namespaces.get(ns)
                if owner_ns is None:
                    if ns in PRESET_NAMESPACES:
                        continue
                    raise PlanError(
                        f"{describe(obj)} is in namespace {ns!r}, which nothing in {self.root} creates",
                        file=obj.source.path, line=obj.source.line or None,
                        hint="add the Namespace (base/namespaces), or createNamespace on the release that installs it",
                        check="SY403",
                    )
                if owner_ns != unit.label:
                    self.edge((owner_ns, 0), node, f"{describe(obj)} is in namespace {ns}, created by {owner_ns}")

    # -- order ------------------------------------------------------------

    def order(self) -> list[tuple[str, int]]:
        nodes = [(u.label, k) for u in self.units.values() for k in range(u.last + 1)]
        indegree = {n: 0 for n in nodes}
        outgoing: dict[tuple[str, int], list[tuple[str, int]]] = {n: [] for n in nodes}
        for dest, sources in self.edges.items():
            for source in sources:
                indegree[dest] += 1
                outgoing[source].append(dest)
        rank = {n: (self.units[n[0]].order, n[1]) for n in nodes}
        ready = [(rank[n], n) for n in nodes if indegree[n] == 0]
        heapq.heapify(ready)
        result: list[tuple[str, int]] = []
        while ready:
            _, node = heapq.heappop(ready)
            result.append(node)
            for dest in outgoing[node]:
                indegree[dest] -= 1
                if indegree[dest] == 0:
                    heapq.heappush(ready, (rank[dest], dest))
        if len(result) != len(nodes):
            self._report_cycle({n for n in nodes if indegree[n] > 0})
        return result

    def _report_cycle(self, remaining: set[tuple[str, int]]) -> None:
        start = min(remaining, key=lambda n: (self.units[n[0]].order, n[1]))
        path: list[tuple[str, int]] = [start]
        index_of = {start: 0}
        node = start
        while True:
            preds = sorted((s for s in self.edges.get(node, {}) if s in remaining),
                           key=lambda n: (self.units[n[0]].order, n[1]))
            node = preds[0]
            if node in index_of:
                cycle = path[index_of[node]:] + [node]
                break
            index_of[node] = len(path)
            path.append(node)
        cycle.reverse()  # now in "a before b" order
        reasons = [self.edges[b][a] for a, b in zip(cycle, cycle[1:]) if self.edges[b][a]]
        units = []
        for label, _ in cycle:
            if label not in units:
                units.append(label)
        producer = next((self.units[u].producer for u in units if self.units[u].producer is not None), None)
        file, line = _source_of(producer)
        raise PlanError(
            "no install order exists: " + " -> ".join(units + [units[0]]) + " (" + "; ".join(reasons) + ")",
            file=file, line=line,
            hint="remove one of these dependencies (dependsOn, sync waves), or move the CRD/Namespace "
            "into a unit that comes first", check="SY402",
        )

    def steps(self, order: list[tuple[str, int]]) -> list[Step]:
        members: dict[tuple[str, int], list[tuple[int, K8sObject]]] = {}
        for unit in self.units.values():
            for index, obj in unit.members:
                members.setdefault(self.position[id(obj)], []).append((index, obj))
        steps = []
        pending: dict[str, list[str]] = {}  # reasons that reached an empty stage of a unit
        for node in order:
            reasons = pending.setdefault(node[0], [])
            for source, reason in self.edges.get(node, {}).items():
                if reason and source[0] != node[0] and reason not in reasons:
                    reasons.append(reason)
            items = members.get(node)
            if not items:
                continue
            unit = self.units[node[0]]
            if node[1] == 0:
                items.sort(key=lambda p: (0 if p[1].kind == "Namespace" else 1, p[0]))
                stage = "namespaces and CRDs"
            else:
                items.sort(key=lambda p: (_kind_rank(p[1]), p[0]))
                stage = self._stage_name(unit, node[1])
            after = pending.pop(node[0])
            name = unit.label if not stage else f"{unit.label}: {stage}"
            wait = node[1] == 0 or engine_waits(unit.producer)
            steps.append(Step(name=name, unit=unit.label, stage=stage or "resources",
                              objects=tuple(o for _, o in items), after=tuple(after), wait=wait))
        return steps

    @staticmethod
    def _stage_name(unit: _Unit, k: int) -> str:
        phase, wave = unit.groups[k - 1]
        waves = {w for p, w in unit.groups if p == phase}
        parts = [p for p in (_PHASE_NAMES[phase], f"wave {wave}" if len(waves) > 1 or wave else "") if p]
        return ", ".join(parts)


def engine_waits(producer: K8sObject | None) -> bool:
    """Whether the engine waits for what ``producer`` deploys to be ready
    (healthy) before it reports it done, and so before what depends on it."""
    if producer is None:
        return False  # the entry point itself: applied, not waited for
    spec = producer.body.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    gk = (producer.group, producer.kind)
    if gk == FLUX_KUSTOMIZATION:
        return spec.get("wait") is True or bool(spec.get("healthChecks"))
    if gk == FLUX_HELMRELEASE:
        install = spec.get("install")
        return not (isinstance(install, dict) and install.get("disableWait") is True)
    return True  # Argo CD: a sync wave waits for the health of the one before


def build_plan(target: RenderedTarget) -> Plan:
    """Ordered steps that install ``target`` (a rendered cluster entry point)
    on an empty cluster. Raises PlanError when no order exists."""
    builder = _Builder(target)
    builder.collect()
    builder.place()
    builder.link()
    steps = builder.steps(builder.order())
    plan = Plan(target=target.name, engine=target.engine, steps=steps, skipped=builder.skipped)
    verify(plan, builder.prerequisite_groups)
    return plan


def verify(plan: Plan, prerequisites: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Every object once; every CRD before the objects of its kind; every
    Namespace before the objects in it (the guarantees the suite relies on)."""
    placed: dict[tuple[str, str, str, str], int] = {}
    crd_at: dict[tuple[str, str], int] = {}
    ns_at: dict[str, int] = {}
    for position, obj in enumerate(plan.ordered_objects()):
        key = identity(obj)
        if key in placed:
            raise PlanError(f"{describe(obj)} is placed twice in the plan", check="SY900")
        placed[key] = position
        if obj.kind == "CustomResourceDefinition":
            spec = obj.body.get("spec") or {}
            crd_at[(str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))] = position
        elif obj.kind == "Namespace" and obj.group == "":
            ns_at[obj.name] = position
        if (obj.group, obj.kind) in crd_at or not (is_builtin_group(obj.group) or obj.group in prerequisites):
            if crd_at.get((obj.group, obj.kind), position + 1) > position:
                raise PlanError(f"{describe(obj)} would be applied before its CRD", check="SY900")
        if obj.namespace and obj.namespace not in PRESET_NAMESPACES and ns_at.get(obj.namespace, position + 1) > position:
            raise PlanError(f"{describe(obj)} would be applied before namespace {obj.namespace}", check="SY900")


# -- presentation -------------------------------------------------------------


def format_plan(plan: Plan, *, objects: bool = True) -> str:
    """The plan as a reviewer reads it: numbered steps, why each waits, and
    (optionally) the objects of each step in apply order."""
    engine = f" ({plan.engine})" if plan.engine else ""
    count = sum(len(s.objects) for s in plan.steps)
    lines = [f"Apply order for {plan.target}{engine}: {_count(len(plan.steps), 'step')}, {_count(count, 'object')}"]
    for number, step in enumerate(plan.steps, 1):
        lines.append("")
        waits = ", waits until ready" if step.wait else ""
        lines.append(f"{number}. {step.name}  [{_count(len(step.objects), 'object')}{waits}]")
        for reason in step.after:
            lines.append(f"   after: {reason}")
        if objects:
            for obj in step.objects:
                lines.append(f"   - {describe(obj)}  ({obj.source})")
    if plan.skipped:
        lines.append("")
        lines.append(f"Not applied ({len(plan.skipped)}):")
        for item in plan.skipped:
            lines.append(f"   - {describe(item.obj)}: {item.reason}")
    return "\n".join(lines) + "\n"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def plan_as_json(plan: Plan) -> str:
    def ref(obj: K8sObject) -> dict[str, Any]:
        return {"apiVersion": obj.api_version, "kind": obj.kind, "namespace": obj.namespace, "name": obj.name,
                "source": str(obj.source)}

    data = {
        "target": plan.target,
        "engine": plan.engine,
        "steps": [{"name": s.name, "unit": s.unit, "stage": s.stage, "after": list(s.after), "wait": s.wait,
                   "objects": [ref(o) for o in s.objects]} for s in plan.steps],
        "skipped": [{**ref(item.obj), "reason": item.reason} for item in plan.skipped],
    }
    return json.dumps(data, indent=2) + "\n"


def step_manifest(objects: Iterable[K8sObject]) -> str:
    """One YAML stream of ``objects`` in the given order (kubectl applies in order)."""
    import yaml

    docs = [yaml.safe_dump(obj.body, sort_keys=True, default_flow_style=False) for obj in objects]
    return "---\n".join(docs)


# -- from a repository --------------------------------------------------------

DEFAULT_CLUSTER = "kind-e2e"


def choose_engine(cluster: "Cluster", engine: str | None) -> str:
    """The engine to plan for: the one asked for (it must be declared by the
    cluster), else Flux when the cluster has it, else its first engine."""
    if engine:
        if engine not in cluster.engines:
            raise ShipyardError(
                f"cluster {cluster.name} does not declare engine {engine}",
                file=f"clusters/{cluster.name}/cluster.yaml",
                hint=f"its engines are: {', '.join(cluster.engines) or 'none'}", check="SY900",
            )
        return engine
    if not cluster.engines:
        raise ShipyardError(f"cluster {cluster.name} has no engine entry point",
                            file=f"clusters/{cluster.name}/cluster.yaml",
                            hint="add clusters/<cluster>/flux or argocd", check="SY401")
    return "flux" if "flux" in cluster.engines else cluster.engines[0]


def render_entry_point(repo: "Repository", cluster: str, engine: str | None = None, *,
                       use_cache: bool = True) -> RenderedTarget:
    """Render clusters/<cluster>/<engine> as that engine would expand it."""
    from shipyard.targets import make_renderer, render_target, target_for_path

    spec_cluster = repo.cluster(cluster)
    chosen = choose_engine(spec_cluster, engine)
    path = f"clusters/{cluster}/{chosen}"
    if not (repo.root / path).exists():
        raise ShipyardError(f"{path} does not exist", file=f"clusters/{cluster}/cluster.yaml",
                            hint=f"create {path}/ or remove {chosen} from spec.engines", check="SY401")
    renderer = make_renderer(repo, use_cache=use_cache)
    try:
        return render_target(renderer, target_for_path(repo, path, cwd=repo.root))
    finally:
        if renderer.mirror:
            renderer.mirror.close()


def plan_for(repo: "Repository", cluster: str = DEFAULT_CLUSTER, engine: str | None = None, *,
             use_cache: bool = True) -> Plan:
    """The apply order of a cluster's entry point. A wiring error found while
    rendering (a path or source that does not exist) stops the plan: what
    would be installed is not known."""
    target = render_entry_point(repo, cluster, engine, use_cache=use_cache)
    errors = [f for f in target.findings if f.severity == "error"]
    if errors:
        first = errors[0]
        listing = "; ".join(f"{f.location}: {f.check}: {f.message}" for f in errors[:5])
        raise PlanError(f"{target.name} does not render cleanly, so its install order is unknown: {listing}",
                        file=first.file, line=first.line or None, hint="run `shipyard validate " + target.name + "`",
                        check=first.check)
    return build_plan(target)
