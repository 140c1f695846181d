"""The Pod Security Standards (baseline and restricted), as Pod Security
Admission evaluates them, for pod specs read from manifests.

A namespace labelled ``pod-security.kubernetes.io/enforce: restricted`` makes
the API server refuse every pod that breaks one of the restricted rules. For
a bare Pod that is an error at apply time; for a Deployment, Job or operator
it is worse: the workload object is accepted and the pods its controller
creates are refused later, where GitOps never looks. So the rules are
evaluated here, offline, on the pod templates the repository renders.

The rules follow the Kubernetes standard control by control, with the
policy version (``enforce-version``) deciding which revision of a control
applies, the way the admission plugin does:

* baseline: host namespaces, privileged, capabilities beyond the default
  set, hostPath volumes, host ports, AppArmor, SELinux, /proc mount type,
  seccomp (never Unconfined), sysctls outside the safe set, Windows
  HostProcess, and (policy v1.34+) a ``host`` on probes and lifecycle hooks;
* restricted: all of baseline plus volume types, allowPrivilegeEscalation
  false, runAsNonRoot true, runAsUser not 0, seccomp RuntimeDefault or
  Localhost, capabilities drop ALL and add at most NET_BIND_SERVICE.

A restricted control can replace a baseline one (restricted volume types
replace the hostPath rule); the replaced one is then not evaluated, so one
mistake is one violation. Where the admission plugin reports "pod or
containers must set X", one violation is given at the pod level when no
container sets X, else one per container that does not.

Paths in violations are JSON paths from the pod: ``("spec", "containers",
0, "securityContext", "privileged")`` or ``("metadata", "annotations",
key)``; a caller holding a pod template prefixes them with the template's
own path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from shipyard.objects import JsonPath
from shipyard.shapes import as_dict as _dict
from shipyard.shapes import as_list as _list

Version = tuple[int, int]

PRIVILEGED = "privileged"
BASELINE = "baseline"
RESTRICTED = "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)

# The newest policy version whose rules this module knows; ``latest`` on a
# newer cluster is judged by these (a newer version only ever adds safe
# sysctls or relaxes a rule, so this errs towards reporting).
NEWEST_KNOWN: Version = (1, 35)

LABEL_PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
ENFORCE_LABEL = LABEL_PREFIX + "enforce"
ENFORCE_VERSION_LABEL = LABEL_PREFIX + "enforce-version"

_VERSION_TEXT = re.compile(r"^v1\.(0|[1-9][0-9]*)$")

# Capabilities a container may add under baseline: the container runtime's
# default set, less NET_RAW.
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
RESTRICTED_ADDABLE = frozenset({"NET_BIND_SERVICE"})

# Safe sysctls, by the policy version that first allows them.
_SYSCTLS: tuple[tuple[Version, frozenset[str]], ...] = (
    ((1, 0), frozenset({
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
    })),
    ((1, 27), frozenset({"net.ipv4.ip_local_reserved_ports"})),
    ((1, 29), frozenset({
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    })),
    ((1, 32), frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})),
)

_SELINUX_TYPES: tuple[tuple[Version, frozenset[str]], ...] = (
    ((1, 0), frozenset({"", "container_t", "container_init_t", "container_kvm_t"})),
    ((1, 31), frozenset({"container_engine_t"})),
)

# Volume sources restricted allows: the ephemeral and projected kinds, and
# claims (whatever a PersistentVolume is, an administrator made it).
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
    "projected", "secret",
})

SECCOMP_ALLOWED = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ALLOWED = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
CONTAINER_KEYS = ("initContainers", "containers", "ephemeralContainers")
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HOOKS = ("postStart", "preStop")


@dataclass(frozen=True, slots=True)
class Violation:
    """One field of a pod that a level forbids: the control it breaks (as
    the standard names it), the level that requires it, where it is (a JSON
    path from the pod), what is wrong and how to fix it."""

    control: str
    level: str
    path: JsonPath
    message: str
    fix: str

    @property
    def field(self) -> str:
        """The path as the API server writes it: spec.containers[0].securityContext."""
        return format_path(self.path)


@dataclass(frozen=True, slots=True)
class LabelProblem:
    """A Pod Security label whose value the API server does not accept."""

    key: str
    value: object
    message: str


@dataclass(frozen=True, slots=True)
class NamespacePolicy:
    """What a namespace enforces: a level and a pinned version (None: latest)."""

    level: str = PRIVILEGED
    version: Version | None = None


def format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part or "/" in part:
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else part
    return out


def format_version(version: Version) -> str:
    return f"v{version[0]}.{version[1]}"


def parse_version(value: object) -> Version | None:
    """``v1.33`` -> (1, 33); ``latest`` -> None. ValueError for anything else
    (the API server refuses such a label)."""
    if value == "latest":
        return None
    if isinstance(value, str) and _VERSION_TEXT.match(value):
        return (1, int(value.split(".", 1)[1]))
    raise ValueError(f"{value!r} is not a policy version: write latest or v1.<minor>, like v1.33")


def kube_minor(kube_version: str) -> Version | None:
    """'1.33.0' (or 'v1.33') -> (1, 33); None when it cannot be read."""
    match = re.match(r"^v?(\d+)\.(\d+)", kube_version.strip()) if isinstance(kube_version, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def effective_version(pinned: Version | None, cluster: Version | None) -> Version:
    """The rules a cluster applies: the pinned version, or the cluster's own
    for ``latest``, never newer than the cluster (an API server knows no
    rules from after its release)."""
    newest = cluster or NEWEST_KNOWN
    if pinned is None or pinned > newest:
        return newest
    return pinned


def namespace_policy(labels: Mapping[str, Any] | None) -> tuple[NamespacePolicy, list[LabelProblem]]:
    """What a Namespace's labels enforce, and each Pod Security label the
    API server would refuse. No enforce label is ``privileged``: nothing is
    enforced."""
    labels = labels if isinstance(labels, Mapping) else {}
    problems: list[LabelProblem] = []
    for mode in MODES:
        key = LABEL_PREFIX + mode
        if key in labels and labels[key] not in LEVELS:
            problems.append(LabelProblem(key, labels[key], f"{labels[key]!r} is not a Pod Security level ({', '.join(LEVELS)})"))
        vkey = f"{key}-version"
        if vkey in labels:
            try:
                parse_version(labels[vkey])
            except ValueError as err:
                problems.append(LabelProblem(vkey, labels[vkey], str(err)))
    level = labels.get(ENFORCE_LABEL, PRIVILEGED)
    level = level if level in LEVELS else PRIVILEGED
    try:
        version = parse_version(labels.get(ENFORCE_VERSION_LABEL, "latest"))
    except ValueError:
        version = None
    return NamespacePolicy(level, version), problems


# --- the pod, as the rules read it -----------------------------------------


def _yaml(value: Any) -> str:
    """A scalar as it is written in YAML (false, not False)."""
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _one_of(value: Any, allowed: frozenset[str]) -> bool:
    """``value in allowed`` for a value of any shape (a list is not a string)."""
    return isinstance(value, str) and value in allowed


@dataclass(frozen=True)
class _Container:
    path: JsonPath
    body: dict[str, Any]
    label: str

    @property
    def security(self) -> dict[str, Any]:
        return _dict(self.body.get("securityContext"))

    @property
    def name(self) -> str:
        name = self.body.get("name")
        return name if isinstance(name, str) else ""


@dataclass(frozen=True)
class _Pod:
    spec: dict[str, Any]
    annotations: dict[str, Any]
    version: Version

    @property
    def security(self) -> dict[str, Any]:
        return _dict(self.spec.get("securityContext"))

    def containers(self) -> Iterator[_Container]:
        """Init containers, containers, ephemeral containers: every one is judged."""
        for key in CONTAINER_KEYS:
            for i, body in enumerate(_list(self.spec.get(key))):
                if isinstance(body, dict):
                    name = body.get("name")
                    kind = "container" if key == "containers" else key[:-1]
                    label = f"{kind} {name!r}" if isinstance(name, str) else f"{key}[{i}]"
                    yield _Container(("spec", key, i), body, label)

    @property
    def windows(self) -> bool:
        return _dict(self.spec.get("os")).get("name") == "windows"

    @property
    def user_namespace(self) -> bool:
        return self.spec.get("hostUsers") is False


POD_SC: JsonPath = ("spec", "securityContext")

Rule = Callable[[_Pod], Iterator[tuple[JsonPath, str, str]]]


@dataclass(frozen=True)
class _Control:
    """One control of the standard: its level, the policy version from which
    it applies, the baseline controls it replaces, and the rule."""

    id: str
    title: str
    level: str
    since: Version
    rule: Rule
    replaces: tuple[str, ...] = ()


# --- baseline --------------------------------------------------------------


def _host_namespaces(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.spec.get(key) is True:
            why = " (expose the pod through a Service)" if key == "hostNetwork" else ""
            yield ("spec", key), f"the pod sets {key}: true", f"remove {key}: true{why}"


def _privileged(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for c in pod.containers():
        if c.security.get("privileged") is True:
            yield (*c.path, "securityContext", "privileged"), f"{c.label} runs privileged", \
                f"remove securityContext.privileged from {c.label}; add only the capabilities it needs"


def _added_capabilities(c: _Container) -> Iterator[tuple[int, str]]:
    for i, cap in enumerate(_list(_dict(c.security.get("capabilities")).get("add"))):
        yield i, cap if isinstance(cap, str) else repr(cap)


def _capabilities_baseline(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for c in pod.containers():
        for i, cap in _added_capabilities(c):
            if cap not in BASELINE_CAPABILITIES:
                yield (*c.path, "securityContext", "capabilities", "add", i), \
                    f"{c.label} adds capability {cap}, beyond the default set", \
                    f"remove {cap} from securityContext.capabilities.add of {c.label}"


def _host_path(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for i, volume in enumerate(_list(pod.spec.get("volumes"))):
        if isinstance(volume, dict) and volume.get("hostPath") is not None:
            name = volume.get("name", i)
            yield ("spec", "volumes", i, "hostPath"), f"volume {name!r} is a hostPath volume", \
                f"replace volume {name!r} by an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim"


def _host_ports(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for c in pod.containers():
        for j, port in enumerate(_list(c.body.get("ports"))):
            value = _dict(port).get("hostPort")
            if value is not None and value != 0 and not isinstance(value, bool):
                yield (*c.path, "ports", j, "hostPort"), f"{c.label} binds host port {value}", \
                    f"remove hostPort from {c.label}; expose the port through a Service"


def _apparmor(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for key, value in sorted(pod.annotations.items(), key=lambda kv: str(kv[0])):
        if isinstance(key, str) and key.startswith(APPARMOR_ANNOTATION):
            if not (value in ("", "runtime/default") or (isinstance(value, str) and value.startswith("localhost/"))):
                yield ("metadata", "annotations", key), f"annotation {key} sets AppArmor profile {value!r}", \
                    "use runtime/default or a localhost/<profile>, or remove the annotation"
    holders: list[tuple[JsonPath, dict[str, Any], str]] = [(POD_SC, pod.security, "the pod")]
    holders += [((*c.path, "securityContext"), c.security, c.label) for c in pod.containers()]
    for path, security, label in holders:
        profile = security.get("appArmorProfile")
        if profile is not None:
            kind = _dict(profile).get("type")
            if not _one_of(kind, APPARMOR_ALLOWED):
                yield (*path, "appArmorProfile", "type"), f"{label} sets AppArmor profile type {kind!r}", \
                    f"set appArmorProfile.type to RuntimeDefault or Localhost on {label}, or remove it"


def _selinux(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    allowed = frozenset().union(*(types for since, types in _SELINUX_TYPES if pod.version >= since))
    holders: list[tuple[JsonPath, dict[str, Any], str]] = [(POD_SC, pod.security, "the pod")]
    holders += [((*c.path, "securityContext"), c.security, c.label) for c in pod.containers()]
    for path, security, label in holders:
        options = security.get("seLinuxOptions")
        if not isinstance(options, dict):
            continue
        kind = options.get("type", "")
        if kind is not None and not _one_of(kind, allowed):
            yield (*path, "seLinuxOptions", "type"), f"{label} sets SELinux type {kind!r}", \
                f"use one of {', '.join(sorted(t for t in allowed if t))} (or none) as seLinuxOptions.type on {label}"
        for key in ("user", "role"):
            if options.get(key):
                yield (*path, "seLinuxOptions", key), f"{label} sets a custom SELinux {key}", \
                    f"remove seLinuxOptions.{key} from {label}"


def _proc_mount_strict(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for c in pod.containers():
        value = c.security.get("procMount")
        if value is not None and value != "Default":
            yield (*c.path, "securityContext", "procMount"), f"{c.label} sets procMount {value!r}", \
                f"remove securityContext.procMount from {c.label} (or set it to Default)"


def _proc_mount_baseline(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    # From v1.35 a pod in its own user namespace may unmask /proc.
    if pod.version >= (1, 35) and pod.user_namespace:
        return
    yield from _proc_mount_strict(pod)


def _seccomp_annotations(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    def ok(value: Any) -> bool:
        return value in ("runtime/default", "docker/default") or (isinstance(value, str) and value.startswith("localhost/"))

    keys = [SECCOMP_POD_ANNOTATION] + [SECCOMP_CONTAINER_ANNOTATION + c.name for c in pod.containers()]
    for key in keys:
        if key in pod.annotations and not ok(pod.annotations[key]):
            yield ("metadata", "annotations", key), f"annotation {key} sets seccomp profile {pod.annotations[key]!r}", \
                "use runtime/default or a localhost/<profile>"


def _seccomp_holders(pod: _Pod) -> list[tuple[JsonPath, dict[str, Any], str]]:
    holders: list[tuple[JsonPath, dict[str, Any], str]] = [(POD_SC, pod.security, "the pod")]
    holders += [((*c.path, "securityContext"), c.security, c.label) for c in pod.containers()]
    return holders


def _seccomp_baseline(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    if pod.version < (1, 19):
        yield from _seccomp_annotations(pod)
        return
    for path, security, label in _seccomp_holders(pod):
        profile = security.get("seccompProfile")
        if profile is not None:
            kind = _dict(profile).get("type")
            if not _one_of(kind, SECCOMP_ALLOWED):
                yield (*path, "seccompProfile", "type"), f"{label} sets seccomp profile type {kind!r}", \
                    f"set seccompProfile.type to RuntimeDefault (or Localhost) on {label}, or remove it"


def _sysctls(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    allowed = frozenset().union(*(names for since, names in _SYSCTLS if pod.version >= since))
    for i, sysctl in enumerate(_list(pod.security.get("sysctls"))):
        name = _dict(sysctl).get("name")
        if not _one_of(name, allowed):
            yield (*POD_SC, "sysctls", i, "name"), f"the pod sets sysctl {name!r}, outside the safe set", \
                f"remove sysctl {name!r} (safe at {format_version(pod.version)}: {', '.join(sorted(allowed))})"


def _host_process(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    holders: list[tuple[JsonPath, dict[str, Any], str]] = [(POD_SC, pod.security, "the pod")]
    holders += [((*c.path, "securityContext"), c.security, c.label) for c in pod.containers()]
    for path, security, label in holders:
        if _dict(security.get("windowsOptions")).get("hostProcess") is True:
            yield (*path, "windowsOptions", "hostProcess"), f"{label} runs as a Windows HostProcess", \
                f"remove windowsOptions.hostProcess from {label}"


def _probe_hosts(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for c in pod.containers():
        handlers: list[tuple[JsonPath, Any, str]] = [((*c.path, probe), c.body.get(probe), probe) for probe in PROBES]
        lifecycle = _dict(c.body.get("lifecycle"))
        handlers += [((*c.path, "lifecycle", hook), lifecycle.get(hook), f"lifecycle.{hook}") for hook in HOOKS]
        for path, handler, what in handlers:
            for action in ("httpGet", "tcpSocket"):
                host = _dict(_dict(handler).get(action)).get("host")
                if host:
                    yield (*path, action, "host"), f"{what} of {c.label} reaches host {host!r}", \
                        f"remove {what}.{action}.host from {c.label} (the kubelet then probes the pod's own IP)"


# --- restricted ------------------------------------------------------------


def _volume_types(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for i, volume in enumerate(_list(pod.spec.get("volumes"))):
        if not isinstance(volume, dict):
            continue
        sources = [k for k, v in volume.items() if k != "name" and v is not None]
        # No source at all is defaulted to an emptyDir by the API server.
        if not sources or any(k in RESTRICTED_VOLUMES for k in sources):
            continue
        name = volume.get("name", i)
        yield ("spec", "volumes", i, sources[0]), f"volume {name!r} is of type {sources[0]}", \
            f"replace volume {name!r} by one of {', '.join(sorted(RESTRICTED_VOLUMES))} (a PersistentVolumeClaim for storage)"


def _not_windows(rule: Rule) -> Rule:
    """From v1.25 the Linux-only restricted controls skip pods that declare
    spec.os.name: windows."""

    def wrapped(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
        if pod.version >= (1, 25) and pod.windows:
            return iter(())
        return rule(pod)

    return wrapped


def _privilege_escalation(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for c in pod.containers():
        if c.security.get("allowPrivilegeEscalation") is not False:
            yield (*c.path, "securityContext", "allowPrivilegeEscalation"), \
                f"{c.label} must set securityContext.allowPrivilegeEscalation: false", \
                f"set securityContext.allowPrivilegeEscalation: false on {c.label}"


def _pod_or_every_container(
    pod: _Pod, key: str, good: Callable[[Any], bool], requirement: str, want: str, describe: Callable[[Any], str],
    inner: str | None = None,
) -> Iterator[tuple[JsonPath, str, str]]:
    """Rules a pod-level value satisfies for every container that does not
    set its own (runAsNonRoot, seccompProfile). An explicit bad value
    anywhere is a violation; failing that, every container left without a
    good value is one, reported once at the pod when no container sets one.

    ``requirement`` says what is required in words, ``want`` is the YAML
    value that meets it, ``describe`` words a bad value; a bad value that
    is a mapping holding ``inner`` is pointed at that field."""

    def bad_at(holder: JsonPath, value: Any) -> JsonPath:
        return (*holder, key, inner) if inner and isinstance(value, dict) and inner in value else (*holder, key)

    containers = list(pod.containers())
    explicit: list[tuple[JsonPath, str, str]] = []
    pod_value = pod.security.get(key)
    if pod_value is not None and not good(pod_value):
        explicit.append((
            bad_at(POD_SC, pod_value), f"the pod sets {describe(pod_value)}", f"set spec.securityContext.{key}: {want}"
        ))
    for c in containers:
        value = c.security.get(key)
        if value is not None and not good(value):
            explicit.append((bad_at((*c.path, "securityContext"), value), f"{c.label} sets {describe(value)}",
                             f"set securityContext.{key}: {want} on {c.label}, or remove it there and set it on the pod"))
    if explicit:
        yield from explicit
        return
    if pod_value is not None:
        return
    missing = [c for c in containers if c.security.get(key) is None]
    if not missing:
        return
    if len(missing) == len(containers):
        names = ", ".join(c.label for c in missing)
        yield (*POD_SC, key), f"neither the pod nor {names} set {requirement}", \
            f"set spec.securityContext.{key}: {want} (the pod's securityContext covers every container)"
        return
    for c in missing:
        yield (*c.path, "securityContext", key), f"{c.label} does not set {requirement}, and the pod does not either", \
            f"set securityContext.{key}: {want} on {c.label}, or on the pod"


def _run_as_non_root(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    # From v1.35 a pod in its own user namespace is not root on the node.
    if pod.version >= (1, 35) and pod.user_namespace:
        return
    yield from _pod_or_every_container(
        pod, "runAsNonRoot", lambda v: v is True, "runAsNonRoot: true", "true", lambda v: f"runAsNonRoot: {_yaml(v)}"
    )


def _is_root(value: Any) -> bool:
    return value == 0 and not isinstance(value, bool)


def _run_as_user(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    if pod.version >= (1, 35) and pod.user_namespace:
        return
    if _is_root(pod.security.get("runAsUser")):
        yield (*POD_SC, "runAsUser"), "the pod runs as user 0 (root)", "set spec.securityContext.runAsUser to a non-zero uid"
    for c in pod.containers():
        if _is_root(c.security.get("runAsUser")):
            yield (*c.path, "securityContext", "runAsUser"), f"{c.label} runs as user 0 (root)", \
                f"set securityContext.runAsUser of {c.label} to a non-zero uid"


def _seccomp_restricted(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    yield from _pod_or_every_container(
        pod, "seccompProfile", lambda p: _one_of(_dict(p).get("type"), SECCOMP_ALLOWED),
        "a seccomp profile (RuntimeDefault or Localhost)", "{type: RuntimeDefault}",
        lambda p: f"seccomp profile type {_dict(p).get('type')!r}", inner="type",
    )


def _capabilities_restricted(pod: _Pod) -> Iterator[tuple[JsonPath, str, str]]:
    for c in pod.containers():
        capabilities = _dict(c.security.get("capabilities"))
        if "ALL" not in _list(capabilities.get("drop")):
            where = ("capabilities", "drop") if "drop" in capabilities else ("capabilities",) if capabilities else ()
            yield (*c.path, "securityContext", *where), f"{c.label} does not drop ALL capabilities", \
                f"set securityContext.capabilities.drop: [ALL] on {c.label}"
        for i, cap in _added_capabilities(c):
            if cap not in RESTRICTED_ADDABLE:
                yield (*c.path, "securityContext", "capabilities", "add", i), \
                    f"{c.label} adds capability {cap} (restricted allows only NET_BIND_SERVICE)", \
                    f"remove {cap} from securityContext.capabilities.add of {c.label}"


CONTROLS: tuple[_Control, ...] = (
    _Control("hostNamespaces", "Host namespaces", BASELINE, (1, 0), _host_namespaces),
    _Control("privileged", "Privileged containers", BASELINE, (1, 0), _privileged),
    _Control("capabilities_baseline", "Capabilities", BASELINE, (1, 0), _capabilities_baseline),
    _Control("hostPathVolumes", "HostPath volumes", BASELINE, (1, 0), _host_path),
    _Control("hostPorts", "Host ports", BASELINE, (1, 0), _host_ports),
    _Control("appArmorProfile", "AppArmor", BASELINE, (1, 0), _apparmor),
    _Control("seLinuxOptions", "SELinux", BASELINE, (1, 0), _selinux),
    _Control("procMount", "/proc mount type", BASELINE, (1, 0), _proc_mount_baseline),
    _Control("seccompProfile_baseline", "Seccomp", BASELINE, (1, 0), _seccomp_baseline),
    _Control("sysctls", "Sysctls", BASELINE, (1, 0), _sysctls),
    _Control("windowsHostProcess", "HostProcess", BASELINE, (1, 0), _host_process),
    _Control("hostProbesAndHostLifecycle", "Host probes and lifecycle hooks", BASELINE, (1, 34), _probe_hosts),
    _Control("restrictedVolumes", "Volume types", RESTRICTED, (1, 0), _volume_types, ("hostPathVolumes",)),
    _Control("allowPrivilegeEscalation", "Privilege escalation", RESTRICTED, (1, 8), _not_windows(_privilege_escalation)),
    _Control("runAsNonRoot", "Running as non-root", RESTRICTED, (1, 0), _run_as_non_root),
    _Control("runAsUser", "Running as non-root user", RESTRICTED, (1, 23), _run_as_user),
    _Control("seccompProfile_restricted", "Seccomp", RESTRICTED, (1, 19), _not_windows(_seccomp_restricted),
             ("seccompProfile_baseline",)),
    _Control("capabilities_restricted", "Capabilities", RESTRICTED, (1, 22), _not_windows(_capabilities_restricted),
             ("capabilities_baseline",)),
    _Control("procMount_restricted", "/proc mount type", RESTRICTED, (1, 35), _proc_mount_strict, ("procMount",)),
)


def controls(level: str, version: Version = NEWEST_KNOWN) -> list[_Control]:
    """The controls a level enforces at a policy version, replaced baseline
    controls left out."""
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r} (one of {', '.join(LEVELS)})")
    if level == PRIVILEGED:
        return []
    wanted = (BASELINE,) if level == BASELINE else (BASELINE, RESTRICTED)
    active = [c for c in CONTROLS if c.level in wanted and version >= c.since]
    replaced = {r for c in active for r in c.replaces}
    return [c for c in active if c.id not in replaced]


def evaluate(
    pod_spec: Mapping[str, Any] | None,
    level: str,
    *,
    version: Version | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> list[Violation]:
    """Every violation of ``level`` (privileged, baseline, restricted) in a
    pod, at policy ``version`` (default: the newest this module knows).
    ``metadata`` is the pod's (or template's) metadata, for the AppArmor and
    seccomp annotations. An empty list means the API server admits the pod."""
    at = version or NEWEST_KNOWN
    pod = _Pod(
        spec=dict(pod_spec) if isinstance(pod_spec, Mapping) else {},
        annotations=_dict(_dict(dict(metadata) if isinstance(metadata, Mapping) else {}).get("annotations")),
        version=at,
    )
    found: list[Violation] = []
    for control in controls(level, at):
        for path, message, fix in control.rule(pod):
            found.append(Violation(control.title, control.level, path, message, fix))
    return found
