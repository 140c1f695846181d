"""Waivers: the documented exceptions to a check, each with its reason.

A policy that cannot be excused gets switched off; one that can be excused
silently stops meaning anything. So a waiver is narrow (one check, a path
or an object) and always says why. Three places hold them, most specific
first:

* the object itself, by annotation::

      metadata:
        annotations:
          shipyard.dev/waive: "SY301=vendor image has no tags; SY309=needs /dev/kvm"

* ``shipyard.yaml``, by path (a glob on the finding's file or on its
  target) or by object (``Kind/name`` or ``Kind/namespace/name``)::

      waivers:
      - check: SY305
        object: Secret/kubeflow/mysql-secret
        reason: KFP's in-cluster MySQL, reachable only inside the kubeflow namespace

* the built-in upstream waivers below: a few policies judge this
  repository's own workloads, not the pods of upstream operators that a
  chart or a remote kustomize base installs. They are listed, with their
  reasons, in docs/checks.md; ``upstreamWaivers: false`` in shipyard.yaml
  turns them off.

A waiver without a reason waives nothing and is itself a finding (SY390).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Callable, Iterable, Mapping

from shipyard.checks import load_all
from shipyard.findings import Finding
from shipyard.ids import INVALID_WAIVER, UNUSED_WAIVER
from shipyard.objects import JsonPath, K8sObject, ObjectRef

WAIVE_ANNOTATION = "shipyard.dev/waive"
CONFIG_FILE = "shipyard.yaml"
CONFIG_KEYS = frozenset({"check", "path", "object", "reason"})
UNWAIVABLE = frozenset({INVALID_WAIVER, UNUSED_WAIVER})
_CHECK_ID = re.compile(r"^SY[0-9*?]+$")


@dataclass(frozen=True, slots=True)
class WaivedFinding(Finding):
    """A finding that a waiver excused: still reported (as waived), with
    the waiver's reason and where that waiver is written."""

    reason: str = ""
    waived_by: str = ""


@dataclass(frozen=True)
class Waiver:
    """Excuses findings of ``checks`` (ids or globs like ``SY30*``) whose
    file or target matches one of ``paths`` and/or whose object matches one
    of ``objects``. ``origin`` says where the waiver is written."""

    checks: tuple[str, ...]
    reason: str
    paths: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    origin: str = ""

    def matches(self, finding: Finding) -> bool:
        if finding.check in UNWAIVABLE:
            return False
        if not any(fnmatchcase(finding.check, pattern) for pattern in self.checks):
            return False
        if self.paths and not any(
            glob_match(pattern, where) for pattern in self.paths for where in (finding.file, finding.target) if where
        ):
            return False
        if self.objects and not (finding.object and any(object_match(p, finding.object) for p in self.objects)):
            return False
        return True


UPSTREAM_PATHS = ("chart:**", "**://**")
"""Sources of upstream objects: a chart template (``chart:<chart>-<version>/templates/...``)
or a remote kustomize base (``https://github.com/<owner>/<repo>//<path>@<ref>``)."""

BUILTIN_WAIVERS: tuple[Waiver, ...] = (
    Waiver(
        ("SY302",),
        "Upstream operators size their own pods, and many leave limits to the installer. This repository pins "
        "them and overrides sizes through chart values or patches where an environment needs it; the policy "
        "judges this repository's workloads and models, whose sizing is a decision made here.",
        UPSTREAM_PATHS, origin="built-in",
    ),
    Waiver(
        ("SY309", "SY310", "SY311"),
        "Node agents installed by upstream charts (the GPU driver, device plugin, container toolkit and node "
        "feature discovery of the NVIDIA GPU operator) must reach the node: host paths, privileged mode and "
        "the host network are their job. They are reviewed with the chart pin, not per object.",
        UPSTREAM_PATHS, origin="built-in",
    ),
    Waiver(
        ("SY313",),
        "Operators and controllers (istiod, Kubeflow Pipelines, Katib, the Training Operator) manage whole "
        "API groups and carry wildcard rules upstream. Their RBAC changes only with the pin, and `shipyard "
        "diff` shows every changed rule in the pull request that bumps it.",
        UPSTREAM_PATHS, origin="built-in",
    ),
)
"""Checks that judge this repository's own objects only. Not waived for
upstream, on purpose: SY301 (an upstream image on :latest is fixed by chart
values, e.g. istiod's global.tag), SY303/SY304 (every GPU counts), SY305
(a Secret from a remote base is still plaintext in git), SY314/SY315 (a
removed apiVersion fails the apply whoever wrote it)."""


def glob_match(pattern: str, text: str) -> bool:
    """Path glob: ``**`` crosses folders, ``*`` and ``?`` stay inside one."""
    regex = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            regex.append(".*")
            i += 2
            if pattern.startswith("/", i) and regex[-1] == ".*":
                regex[-1] = "(?:.*/)?"
                i += 1
        elif pattern[i] == "*":
            regex.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            regex.append("[^/]")
            i += 1
        else:
            regex.append(re.escape(pattern[i]))
            i += 1
    return re.fullmatch("".join(regex), text) is not None


def object_match(pattern: str, ref: ObjectRef) -> bool:
    """``Kind/name`` (any namespace) or ``Kind/namespace/name``; each part
    may be a glob."""
    parts = pattern.split("/")
    if len(parts) == 2:
        kind, name = parts
        return fnmatchcase(ref.kind, kind) and fnmatchcase(ref.name, name)
    if len(parts) == 3:
        kind, namespace, name = parts
        return fnmatchcase(ref.kind, kind) and fnmatchcase(ref.namespace, namespace) and fnmatchcase(ref.name, name)
    return False


def parse_annotation(value: Any, known: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """``"SY301=reason; SY305=reason"`` -> ({check: reason}, problems)."""
    if not isinstance(value, str):
        return {}, [f"{WAIVE_ANNOTATION} must be a string like \"SY301=reason; SY305=reason\""]
    known_ids = set(known)
    waived: dict[str, str] = {}
    problems: list[str] = []
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        check, sep, reason = part.partition("=")
        check, reason = check.strip(), reason.strip()
        if check not in known_ids:
            problems.append(f"{WAIVE_ANNOTATION} names unknown check {check!r}")
        elif check in UNWAIVABLE:
            problems.append(f"{check} cannot be waived")
        elif not sep or not reason:
            problems.append(f"{WAIVE_ANNOTATION} waives {check} without a reason (write {check}=why)")
        else:
            waived[check] = reason
    return waived, problems


def _as_strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str) and value.strip():
        return (value.strip(),)
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    return None


LineOf = Callable[[JsonPath], "int | None"]


def config_waivers(
    config: Mapping[str, Any], known: Iterable[str], *, file: str = CONFIG_FILE, line_of: LineOf | None = None
) -> tuple[list[Waiver], list[Finding]]:
    """The ``waivers:`` of shipyard.yaml, and an SY390 finding for each entry
    that is malformed or has no reason (such entries waive nothing)."""
    known_ids = sorted(set(known))
    raw = config.get("waivers")
    if raw is None:
        return [], []

    def problem(message: str, where: tuple[Any, ...], hint: str) -> Finding:
        line = (line_of(("waivers", *where)) if line_of else None) or 0
        return Finding(INVALID_WAIVER, message, file, line, hint=hint)

    if not isinstance(raw, list):
        return [], [problem("waivers must be a list of {check, path or object, reason}", (), "write waivers: as a YAML list")]
    waivers: list[Waiver] = []
    findings: list[Finding] = []
    for i, entry in enumerate(raw):
        label = f"waivers[{i}]"
        if not isinstance(entry, dict):
            findings.append(problem(f"{label} is not a mapping", (i,), "write each waiver as check:, path: or object:, reason:"))
            continue
        unknown = sorted(str(k) for k in entry if k not in CONFIG_KEYS)
        if unknown:
            findings.append(problem(f"{label} has unknown key(s) {', '.join(unknown)}", (i, unknown[0]),
                                    "the keys are check, path, object and reason"))
            continue
        checks = _as_strings(entry.get("check"))
        if checks is None:
            findings.append(problem(f"{label} names no check", (i, "check"), "add check: SY3xx (a list, or a glob like SY30*, also works)"))
            continue
        bad = [c for c in checks if not _CHECK_ID.match(c) or not any(fnmatchcase(k, c) for k in known_ids)]
        if bad:
            findings.append(problem(f"{label} names unknown check(s) {', '.join(bad)}", (i, "check"),
                                    "use an id listed in docs/checks.md"))
            continue
        if any(c in UNWAIVABLE for c in checks):
            findings.append(problem(f"{label}: {INVALID_WAIVER} and {UNUSED_WAIVER} cannot be waived", (i, "check"),
                                    "fix the waiver instead"))
            continue
        paths = _as_strings(entry["path"]) if "path" in entry else ()
        objects = _as_strings(entry["object"]) if "object" in entry else ()
        if paths is None or objects is None:
            key = "path" if paths is None else "object"
            findings.append(problem(f"{label}: {key} must be a non-empty string or list of strings", (i, key),
                                    f"write {key}: as a glob (path) or Kind/name (object)"))
            continue
        if not paths and not objects:
            findings.append(problem(f"{label} says neither path nor object", (i,),
                                    "narrow it with path: (a glob) or object: (Kind/name); path: '**' waives everywhere"))
            continue
        bad_objects = [o for o in objects if len(o.split("/")) not in (2, 3)]
        if bad_objects:
            findings.append(problem(f"{label}: object {bad_objects[0]!r} is not Kind/name or Kind/namespace/name",
                                    (i, "object"), "write object: Kind/name or Kind/namespace/name"))
            continue
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            findings.append(problem(f"{label} waives {', '.join(checks)} without a reason, so it waives nothing",
                                    (i, "reason") if "reason" in entry else (i,),
                                    "add reason: saying why this exception is acceptable"))
            continue
        line = (line_of(("waivers", i)) if line_of else None) or 0
        waivers.append(Waiver(checks, reason.strip(), paths, objects, origin=f"{file}:{line}" if line else f"{file} {label}"))
    return waivers, findings


def builtin_waivers(config: Mapping[str, Any]) -> list[Waiver]:
    return [] if config.get("upstreamWaivers") is False else list(BUILTIN_WAIVERS)


def _waived(finding: Finding, reason: str, by: str) -> WaivedFinding:
    return WaivedFinding(
        check=finding.check, message=finding.message, file=finding.file, line=finding.line, hint=finding.hint,
        object=finding.object, target=finding.target, severity=finding.severity, reason=reason, waived_by=by,
    )


def apply_waivers(
    findings: list[Finding],
    objects_by_ref: Mapping[ObjectRef, K8sObject],
    config: Mapping[str, Any],
    *,
    line_of: LineOf | None = None,
    report_unused: bool = False,
) -> tuple[list[Finding], list[WaivedFinding]]:
    """Split ``findings`` into (kept, waived).

    ``kept`` also carries an SY390 finding for every waiver that cannot be
    used (no reason, malformed, unknown check) in ``config`` or in an
    object's annotation, and, with ``report_unused``, an SY391 warning for
    each shipyard.yaml or annotation waiver that excused nothing (only
    meaningful when every target and check ran). ``line_of`` (the
    settings' line map) lets SY390/SY391 point at the line in shipyard.yaml."""
    known = list(load_all())
    configured, kept = config_waivers(config or {}, known, line_of=line_of)
    builtin = builtin_waivers(config or {})

    annotated: dict[ObjectRef, dict[str, str]] = {}
    for ref, obj in objects_by_ref.items():
        annotations = obj.metadata.get("annotations")
        if not isinstance(annotations, dict) or WAIVE_ANNOTATION not in annotations:
            continue
        waived, problems = parse_annotation(annotations[WAIVE_ANNOTATION], known)
        annotated[ref] = waived
        for message in problems:
            kept.append(Finding.on(
                obj, INVALID_WAIVER, message, path=("metadata", "annotations", WAIVE_ANNOTATION),
                hint="write the annotation as \"SY301=why; SY305=why\"",
            ))

    used_config: set[int] = set()
    used_annotations: set[tuple[ObjectRef, str]] = set()
    waived_out: list[WaivedFinding] = []
    for finding in findings:
        if finding.check in UNWAIVABLE:
            kept.append(finding)
            continue
        on_object = annotated.get(finding.object) if finding.object else None
        if on_object and finding.check in on_object:
            used_annotations.add((finding.object, finding.check))  # type: ignore[arg-type]
            waived_out.append(_waived(finding, on_object[finding.check], f"annotation {WAIVE_ANNOTATION}"))
            continue
        match = next((i for i, w in enumerate(configured) if w.matches(finding)), None)
        if match is not None:
            used_config.add(match)
            waived_out.append(_waived(finding, configured[match].reason, configured[match].origin))
            continue
        upstream = next((w for w in builtin if w.matches(finding)), None)
        if upstream is not None:
            waived_out.append(_waived(finding, upstream.reason, "built-in upstream waiver (docs/checks.md)"))
            continue
        kept.append(finding)

    if report_unused:
        for i, waiver in enumerate(configured):
            if i not in used_config:
                file, _, line = waiver.origin.rpartition(":")
                kept.append(Finding(
                    UNUSED_WAIVER, f"waiver for {', '.join(waiver.checks)} matches no finding",
                    file if line.isdigit() else CONFIG_FILE, int(line) if line.isdigit() else 0,
                    hint="remove it, or fix its path/object", severity="warning",
                ))
        for ref, waived in annotated.items():
            for check in waived:
                if (ref, check) not in used_annotations:
                    kept.append(Finding.on(
                        objects_by_ref[ref], UNUSED_WAIVER, f"{WAIVE_ANNOTATION} waives {check} but it reports nothing here",
                        path=("metadata", "annotations", WAIVE_ANNOTATION), hint="remove it from the annotation",
                        severity="warning",
                    ))
    return kept, waived_out
