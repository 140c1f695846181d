"""ObjectMeta as the API server validates it when an object is created.

Before any schema or admission webhook sees an object, the API server runs
``ValidateObjectMetaAccessor`` (k8s.io/apimachinery
pkg/api/validation/objectmeta.go) over its metadata, with the name rule of
the object's kind. A manifest that breaks it (``Deployment/Scoring_API``, a
label value ``"ml platform/core"``) passes every schema, because the schemas
only say "string", and is refused at apply time: after merge, in a GitOps
repository. This module is that validation, offline:

- ``name`` and ``generateName`` by the kind's name rule (``NAME_RULES``: a
  DNS-1123 subdomain for most kinds, a DNS-1035 label for Services, a
  DNS-1123 label for Namespaces and StatefulSets, a path segment for RBAC
  objects), a CronJob name of at most 52 characters;
- ``namespace`` as a DNS-1123 label, except on cluster-scoped kinds, whose
  namespace the API server clears before validating;
- label keys as qualified names and values as label values
  (pkg/apis/meta/v1/validation ``ValidateLabels``);
- annotation keys as qualified names (case-insensitive), and all
  annotations together at most 256 KiB (``ValidateAnnotations``);
- finalizers as qualified names, and never both ``orphan`` and
  ``foregroundDeletion`` (``ValidateFinalizers``).

``required_name_problems`` adds the names derived from a spec: a CRD must be
called ``<spec.names.plural>.<spec.group>``, an APIService
``<spec.version>.<spec.group>``.

Messages are the API server's own (k8s.io/apimachinery
pkg/util/validation/validation.go), so a finding reads like the refusal it
predicts. Pure functions over plain data (the standard library only): any
shape is judged, none raises. A missing name is not reported here: a
top-level object without one is SY104's finding, and embedded resources may
omit it.

Not covered: ``ownerReferences`` and ``managedFields`` (written by
controllers, not by manifests), ``generation`` (reset by the API server on
create), and the per-kind rules that read a spec (a PriorityClass named
``system-*``) beyond the two derived names above.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Final, Mapping

from shipyard.shapes import json_type

# --------------------------------------------------------------------------
# The rules of k8s.io/apimachinery pkg/util/validation/validation.go, with
# its messages. Go's regexp is linear; the same regular expressions in
# Python backtrack, so each is checked as an equivalent character-set match
# plus first and last characters (no backtracking on any input length).

_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_MSG: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT: Final = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_MSG: Final = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_QUALIFIED_NAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_MSG: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_VALUE_FMT: Final = "(" + _QUALIFIED_NAME_FMT + ")?"
_LABEL_VALUE_MSG: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)

DNS1123_LABEL_MAX_LENGTH: Final = 63
DNS1123_SUBDOMAIN_MAX_LENGTH: Final = 253
DNS1035_LABEL_MAX_LENGTH: Final = 63
QUALIFIED_NAME_MAX_LENGTH: Final = 63
LABEL_VALUE_MAX_LENGTH: Final = 63
TOTAL_ANNOTATION_SIZE_LIMIT_B: Final = 256 * (1 << 10)
"""objectmeta.go TotalAnnotationSizeLimitB: keys and values of one object's
annotations together, in bytes."""
CRONJOB_NAME_MAX_LENGTH: Final = DNS1035_LABEL_MAX_LENGTH - 11
"""The CronJob controller appends an 11-character suffix to name each Job
(pkg/apis/batch/validation ValidateCronJobCreate)."""

_LOWER_ALNUM: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_LOWER_ALPHA: Final = frozenset("abcdefghijklmnopqrstuvwxyz")
_ALNUM: Final = _LOWER_ALNUM | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LABEL_CHARS: Final = re.compile(r"[-a-z0-9]+")
_QUALIFIED_CHARS: Final = re.compile(r"[-A-Za-z0-9_.]+")

Messages = tuple[str, ...]

MEMO_SIZE = 2048
"""Entries each memoised rule keeps. The values that recur (labels such as
``app.kubernetes.io/part-of: x``, namespaces) stay in it; names are mostly
unique, and a larger memo only holds them: at 16,384 entries the memos of a
10,000-object run held 3 MB for almost no hits."""


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """validation.RegexError: the rule, examples, and the regex behind it,
    character for character (its ``',  or '`` included) so a finding reads
    as the refusal does."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


_EMPTY_ERROR: Final = "must be non-empty"


def _byte_length(value: str) -> int:
    """Go's len(): bytes of the UTF-8 text, not characters."""
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


def _label_shaped(value: str, first: frozenset[str]) -> bool:
    return bool(value) and value[0] in first and value[-1] in _LOWER_ALNUM and _LABEL_CHARS.fullmatch(value) is not None


def _is_dns1123_label_text(value: str) -> bool:
    return _label_shaped(value, _LOWER_ALNUM)


def _is_dns1123_subdomain_text(value: str) -> bool:
    return all(_label_shaped(part, _LOWER_ALNUM) for part in value.split("."))


def _is_qualified_name_part(value: str) -> bool:
    return bool(value) and value[0] in _ALNUM and value[-1] in _ALNUM and _QUALIFIED_CHARS.fullmatch(value) is not None


@lru_cache(maxsize=MEMO_SIZE)
def is_dns1123_label(value: str) -> Messages:
    """validation.IsDNS1123Label: what is wrong with ``value`` as a DNS-1123
    label (namespace names), or nothing."""
    errors: list[str] = []
    if _byte_length(value) > DNS1123_LABEL_MAX_LENGTH:
        errors.append(_max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _is_dns1123_label_text(value):
        if _is_dns1123_subdomain_text(value):
            errors.append("must not contain dots")
        else:
            errors.append(_regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return tuple(errors)


@lru_cache(maxsize=MEMO_SIZE)
def is_dns1123_subdomain(value: str) -> Messages:
    """validation.IsDNS1123Subdomain: the name rule of most kinds."""
    errors: list[str] = []
    if _byte_length(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _is_dns1123_subdomain_text(value):
        errors.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return tuple(errors)


@lru_cache(maxsize=MEMO_SIZE)
def is_dns1035_label(value: str) -> Messages:
    """validation.IsDNS1035Label: Service names (they become DNS names and
    environment variables, so they start with a letter)."""
    errors: list[str] = []
    if _byte_length(value) > DNS1035_LABEL_MAX_LENGTH:
        errors.append(_max_len_error(DNS1035_LABEL_MAX_LENGTH))
    if not _label_shaped(value, _LOWER_ALPHA):
        errors.append(_regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return tuple(errors)


@lru_cache(maxsize=MEMO_SIZE)
def is_qualified_name(value: str) -> Messages:
    """validation.IsQualifiedName: label keys, annotation keys, finalizers:
    ``[prefix/]name``, the prefix a DNS-1123 subdomain, the name at most 63
    alphanumerics, '-', '_' or '.'."""
    errors: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part " + _EMPTY_ERROR)
        else:
            errors.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return (
            "a qualified name "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        )
    if not name:
        errors.append("name part " + _EMPTY_ERROR)
    elif _byte_length(name) > QUALIFIED_NAME_MAX_LENGTH:
        errors.append("name part " + _max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if not _is_qualified_name_part(name):
        errors.append("name part " + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"))
    return tuple(errors)


@lru_cache(maxsize=MEMO_SIZE)
def is_valid_label_value(value: str) -> Messages:
    """validation.IsValidLabelValue: empty, or a qualified name part of at
    most 63 characters."""
    errors: list[str] = []
    if _byte_length(value) > LABEL_VALUE_MAX_LENGTH:
        errors.append(_max_len_error(LABEL_VALUE_MAX_LENGTH))
    if value and not _is_qualified_name_part(value):
        errors.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return tuple(errors)


def is_valid_path_segment_name(value: str) -> Messages:
    """path.IsValidPathSegmentName (pkg/api/validation/path/name.go): any
    text that can be one segment of a REST path: not '.' or '..', no '/'
    and no '%'."""
    if value in (".", ".."):
        return (f"may not be '{value}'",)
    return tuple(f"may not contain '{c}'" for c in ("/", "%") if c in value)


# --------------------------------------------------------------------------
# Name rules: the ValidateNameFunc each kind's validation passes to
# ValidateObjectMeta. ``prefix`` is true for generateName, which may end in
# '-' because the API server appends random characters.


def _mask_trailing_dash(name: str) -> str:
    """generic.go maskTrailingDash, as written: a trailing '-' and the
    character before it become 'a'. (Go slices bytes; a non-ASCII name
    fails every rule either way, so it is left as it is.)"""
    if len(name) > 1 and name.endswith("-") and name.isascii():
        return name[:-2] + "a"
    return name


def _name_is_dns_subdomain(name: str, prefix: bool) -> Messages:
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def _name_is_dns_label(name: str, prefix: bool) -> Messages:
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def _name_is_dns1035_label(name: str, prefix: bool) -> Messages:
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def _rbac_name(name: str, prefix: bool) -> Messages:
    # rbac/validation ValidateRBACName ignores prefix: generateName too is
    # checked as a whole path segment.
    return is_valid_path_segment_name(name)


def _cronjob_name(name: str, prefix: bool) -> Messages:
    messages = _name_is_dns_subdomain(name, prefix)
    if not prefix and _byte_length(name) > CRONJOB_NAME_MAX_LENGTH:
        messages += (_max_len_error(CRONJOB_NAME_MAX_LENGTH),)
    return messages


@dataclass(frozen=True)
class NameRule:
    """How the API server validates one kind's ``metadata.name``: its
    ValidateNameFunc upstream, and what that means in words (for hints)."""

    upstream: str
    description: str
    check: Callable[[str, bool], Messages] = field(compare=False, repr=False)


DNS1123_SUBDOMAIN: Final = NameRule(
    "NameIsDNSSubdomain",
    "a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
    _name_is_dns_subdomain,
)
DNS1123_LABEL: Final = NameRule(
    "NameIsDNSLabel",
    "a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit (no '.')",
    _name_is_dns_label,
)
DNS1035_LABEL: Final = NameRule(
    "NameIsDNS1035Label",
    "a DNS-1035 label: at most 63 lower-case letters, digits and '-', starting with a letter and ending with a letter"
    " or digit (no '.')",
    _name_is_dns1035_label,
)
PATH_SEGMENT: Final = NameRule(
    "IsValidPathSegmentName",
    "a path segment: any text but '.' and '..', without '/' or '%' (':' is fine, as in system:controller:x)",
    _rbac_name,
)
CRONJOB_NAME: Final = NameRule(
    "NameIsDNSSubdomain + ValidateCronJobCreate",
    f"a DNS-1123 subdomain of at most {CRONJOB_NAME_MAX_LENGTH} characters (the controller appends 11 to name"
    " each Job)",
    _cronjob_name,
)

_RBAC: Final = "rbac.authorization.k8s.io"
_APIEXTENSIONS: Final = "apiextensions.k8s.io"
_APIREGISTRATION: Final = "apiregistration.k8s.io"

NAME_RULES: Final[Mapping[tuple[str, str], NameRule]] = {
    # pkg/apis/core/validation/validation.go
    ("", "Service"): DNS1035_LABEL,  # ValidateServiceName = NameIsDNS1035Label
    ("", "Namespace"): DNS1123_LABEL,  # ValidateNamespaceName = NameIsDNSLabel
    **{("", kind): DNS1123_SUBDOMAIN for kind in (
        "ConfigMap", "Secret", "ServiceAccount", "Pod", "PodTemplate", "ReplicationController", "Endpoints",
        "LimitRange", "ResourceQuota", "PersistentVolume", "PersistentVolumeClaim", "Node",
    )},
    # pkg/apis/apps/validation/validation.go
    ("apps", "StatefulSet"): DNS1123_LABEL,  # ValidateStatefulSetName: its pods' hostnames are <name>-<ordinal>
    **{("apps", kind): DNS1123_SUBDOMAIN for kind in ("Deployment", "DaemonSet", "ReplicaSet", "ControllerRevision")},
    # pkg/apis/batch/validation/validation.go
    ("batch", "Job"): DNS1123_SUBDOMAIN,
    ("batch", "CronJob"): CRONJOB_NAME,
    # pkg/apis/rbac/validation/validation.go ValidateRBACName
    **{(_RBAC, kind): PATH_SEGMENT for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
    # apiextensions-apiserver ValidateCustomResourceDefinition: a subdomain, and <plural>.<group>
    # (required_name_problems)
    (_APIEXTENSIONS, "CustomResourceDefinition"): DNS1123_SUBDOMAIN,
    # kube-aggregator ValidateAPIService: a path segment, and <version>.<group> (required_name_problems)
    (_APIREGISTRATION, "APIService"): PATH_SEGMENT,
    **{("networking.k8s.io", kind): DNS1123_SUBDOMAIN for kind in ("Ingress", "IngressClass", "NetworkPolicy")},
    ("policy", "PodDisruptionBudget"): DNS1123_SUBDOMAIN,
    ("autoscaling", "HorizontalPodAutoscaler"): DNS1123_SUBDOMAIN,
    ("scheduling.k8s.io", "PriorityClass"): DNS1123_SUBDOMAIN,
    **{("storage.k8s.io", kind): DNS1123_SUBDOMAIN for kind in ("StorageClass", "CSIDriver", "VolumeAttachment")},
    ("node.k8s.io", "RuntimeClass"): DNS1123_SUBDOMAIN,
    ("coordination.k8s.io", "Lease"): DNS1123_SUBDOMAIN,
    ("discovery.k8s.io", "EndpointSlice"): DNS1123_SUBDOMAIN,
    **{("admissionregistration.k8s.io", kind): DNS1123_SUBDOMAIN for kind in (
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    )},
}
"""(API group, kind) -> the name rule its validation applies. Custom
resources are validated with NameIsDNSSubdomain (apiextensions-apiserver
pkg/registry/customresource/validator.go), and so is every kind not listed
here: the DNS-1123 subdomain is the generic default, the rule most kinds
share."""

CLUSTER_SCOPED: Final = frozenset({
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"), ("", "ComponentStatus"),
    (_APIEXTENSIONS, "CustomResourceDefinition"), (_APIREGISTRATION, "APIService"),
    (_RBAC, "ClusterRole"), (_RBAC, "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"), ("node.k8s.io", "RuntimeClass"),
    ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "CSIDriver"), ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"), ("storage.k8s.io", "VolumeAttributesClass"),
    ("networking.k8s.io", "IngressClass"), ("networking.k8s.io", "IPAddress"), ("networking.k8s.io", "ServiceCIDR"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"), ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("certificates.k8s.io", "CertificateSigningRequest"), ("certificates.k8s.io", "ClusterTrustBundle"),
    ("resource.k8s.io", "DeviceClass"), ("resource.k8s.io", "ResourceSlice"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
})
"""Built-in cluster-scoped kinds: the API server clears their namespace
before validating (rest.BeforeCreate), so a namespace on them is ignored,
not refused. (A plain leaf, so a copy with groups of render/scope.py's list.)"""


def split_group(api_version: str) -> str:
    """The API group of ``apiVersion`` ("" for the core group's "v1")."""
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def name_rule(api_version: str, kind: str) -> NameRule:
    """The name rule of ``kind`` in ``apiVersion``'s group; the DNS-1123
    subdomain for kinds not in NAME_RULES (custom resources, and built-in
    kinds whose validation uses the generic default)."""
    return NAME_RULES.get((split_group(api_version), kind), DNS1123_SUBDOMAIN)


# --------------------------------------------------------------------------
# Problems.


@dataclass(frozen=True)
class MetaProblem:
    """One thing the API server refuses in an object's metadata: where
    (relative to metadata: ``("name",)``, ``("labels", "app")``) and what,
    in the API server's words."""

    path: tuple[str | int, ...]
    message: str


def field_name(path: tuple[str | int, ...], root: str = "metadata") -> str:
    """``metadata.name``, ``metadata.labels['app']``, ``metadata.finalizers[0]``:
    a problem's path as the API server names fields."""
    out = root
    for i, part in enumerate(path):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i == 0:
            out += f".{part}" if out else part
        else:
            out += f"['{part}']"
    return out


def _show(value: Any, limit: int = 100) -> str:
    """A value as the API server quotes it, shortened past ``limit``."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):  # a cycle, or keys JSON cannot write
        text = f"<{json_type(value)}>"
    return text if len(text) <= limit else text[: limit - 4] + '..."'


def _shape(path: tuple[str | int, ...], wanted: str, value: Any) -> MetaProblem:
    got = "null" if value is None else f"{json_type(value)} {_show(value, 60)}"
    return MetaProblem(path, f"must be {wanted}, not {got}")


_INVALID_KEY: Final = "Invalid key: "


def _invalid(path: tuple[str | int, ...], value: str, messages: Messages, what: str = "value") -> MetaProblem:
    return MetaProblem(path, f"Invalid {what}: {_show(value)}: {'; '.join(messages)}")


def is_key_problem(problem: MetaProblem) -> bool:
    """Whether ``problem`` is about a label or annotation key (its path
    names the key either way; the message says which)."""
    return problem.message.startswith(_INVALID_KEY)


def _key_path(root: str, key: Any) -> tuple[str | int, ...]:
    return (root, key if isinstance(key, (str, int)) and not isinstance(key, bool) else str(key))


class _Collector:
    """Problems of one metadata; shape problems (a label that is a number)
    kept only when asked for."""

    __slots__ = ("problems", "shapes")

    def __init__(self, shapes: bool) -> None:
        self.problems: list[MetaProblem] = []
        self.shapes = shapes

    def shape(self, path: tuple[str | int, ...], wanted: str, value: Any) -> None:
        if self.shapes:
            self.problems.append(_shape(path, wanted, value))

    def text(self, metadata: dict[Any, Any], key: str) -> str | None:
        """metadata[key] when it is a non-empty string; None otherwise
        (absent, null or empty: nothing to validate; another type: a shape
        problem)."""
        value = metadata.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value or None
        self.shape((key,), "a string", value)
        return None


def _names(c: _Collector, metadata: dict[Any, Any], rule: NameRule) -> None:
    """generateName (as a prefix) and name by the kind's rule."""
    for key, prefix in (("generateName", True), ("name", False)):
        value = c.text(metadata, key)
        if value is not None:
            messages = rule.check(value, prefix)
            if messages:
                c.problems.append(_invalid((key,), value, messages))


def _namespace(c: _Collector, metadata: dict[Any, Any]) -> None:
    value = c.text(metadata, "namespace")
    if value is not None:
        messages = _name_is_dns_label(value, False)  # ValidateNamespaceName
        if messages:
            c.problems.append(_invalid(("namespace",), value, messages))


@lru_cache(maxsize=MEMO_SIZE)
def _label_messages(key: str, value: str) -> tuple[Messages, Messages]:
    """(key problems, value problems) of one label, memoised: the same
    labels (app.kubernetes.io/name: x) recur on most objects of a run."""
    return is_qualified_name(key), is_valid_label_value(value)


def _labels(c: _Collector, labels: Any) -> None:
    """meta/v1/validation ValidateLabels: keys qualified names, values
    label values (null is the empty string)."""
    if labels is None:
        return
    if not isinstance(labels, dict):
        c.shape(("labels",), "a map of strings", labels)
        return
    for key, value in labels.items():
        if not isinstance(key, str):
            c.shape(_key_path("labels", key), "a string key", key)
            continue
        text = "" if value is None else value
        if not isinstance(text, str):
            text = ""  # a shape problem; its key is still judged
            c.shape(("labels", key), "a string", value)
        key_messages, value_messages = _label_messages(str(key), str(text))
        if key_messages:
            c.problems.append(_invalid(("labels", key), key, key_messages, "key"))
        if value_messages:
            c.problems.append(_invalid(("labels", key), text, value_messages))


@lru_cache(maxsize=MEMO_SIZE)
def _annotation_key_messages(key: str) -> Messages:
    # The rule is QualifiedName except that case doesn't matter (ValidateAnnotations).
    return is_qualified_name(key.lower())


def _annotations(c: _Collector, annotations: Any) -> None:
    """objectmeta.go ValidateAnnotations: keys are qualified names once
    lower-cased; keys and values together at most 256 KiB."""
    if annotations is None:
        return
    if not isinstance(annotations, dict):
        c.shape(("annotations",), "a map of strings", annotations)
        return
    total = 0
    for key, value in annotations.items():
        if not isinstance(key, str):
            c.shape(_key_path("annotations", key), "a string key", key)
            continue
        total += _byte_length(key)
        messages = _annotation_key_messages(str(key))
        if messages:
            c.problems.append(_invalid(("annotations", key), key, messages, "key"))
        if isinstance(value, str):
            total += _byte_length(value)
        elif value is not None:
            c.shape(("annotations", key), "a string", value)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_B:
        c.problems.append(MetaProblem(
            ("annotations",),
            f"Too long: may not be more than {TOTAL_ANNOTATION_SIZE_LIMIT_B} bytes"
            f" (keys and values total {total} bytes)",
        ))


_ORPHAN: Final = "orphan"
_FOREGROUND: Final = "foregroundDeletion"


def _finalizers(c: _Collector, finalizers: Any) -> None:
    """objectmeta.go ValidateFinalizers: each a qualified name, and not
    both orphan and foregroundDeletion."""
    if finalizers is None:
        return
    if not isinstance(finalizers, list):
        c.shape(("finalizers",), "an array of strings", finalizers)
        return
    names: set[str] = set()
    for i, name in enumerate(finalizers):
        if not isinstance(name, str):
            c.shape(("finalizers", i), "a string", name)
            continue
        names.add(name)
        messages = is_qualified_name(name)
        if messages:
            c.problems.append(_invalid(("finalizers", i), name, messages))
    if _ORPHAN in names and _FOREGROUND in names:
        c.problems.append(MetaProblem(
            ("finalizers",), f"Invalid value: finalizer {_ORPHAN} and {_FOREGROUND} cannot be both set",
        ))


def _problems(metadata: object, api_version: object, kind: object, shapes: bool) -> list[MetaProblem]:
    if metadata is None:
        return []
    c = _Collector(shapes)
    if not isinstance(metadata, dict):
        c.shape((), "an object", metadata)
        return c.problems
    api = api_version if isinstance(api_version, str) else ""
    identity = (split_group(api), kind if isinstance(kind, str) else "")
    _names(c, metadata, NAME_RULES.get(identity, DNS1123_SUBDOMAIN))
    if identity not in CLUSTER_SCOPED:
        _namespace(c, metadata)
    _labels(c, metadata.get("labels"))
    _annotations(c, metadata.get("annotations"))
    _finalizers(c, metadata.get("finalizers"))
    return c.problems


def object_meta_problems(metadata: object, *, api_version: str, kind: str) -> list[MetaProblem]:
    """What the API server refuses in ``metadata`` (an object's, or an
    embedded resource's) for an object of ``kind`` in ``api_version``,
    empty when it accepts it. Any shape is judged: metadata that is not a
    mapping, or a label that is a number, is a problem, never an exception.
    A missing name is not a problem here (see the module's docstring)."""
    return _problems(metadata, api_version, kind, shapes=True)


def object_meta_value_problems(metadata: object, *, api_version: str, kind: str) -> list[MetaProblem]:
    """``object_meta_problems`` without the type mistakes (a label value
    that is a number, labels that are a list), for callers whose schema
    validation reports those already (validate's SY101)."""
    return _problems(metadata, api_version, kind, shapes=False)


def _dig(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _derived(metadata: Any, required: str, rule: NameRule, message: str) -> list[MetaProblem]:
    """A problem for name and generateName when they pass the kind's rule
    but are not ``required``."""
    out: list[MetaProblem] = []
    if not isinstance(metadata, dict):
        return out
    for key, prefix in (("generateName", True), ("name", False)):
        value = metadata.get(key)
        if isinstance(value, str) and value and value != required and not rule.check(value, prefix):
            out.append(MetaProblem((key,), f"Invalid value: {_show(value)}: {message}"))
    return out


def required_name_problems(body: object) -> list[MetaProblem]:
    """The names a spec dictates (paths relative to metadata): a
    CustomResourceDefinition is named ``<spec.names.plural>.<spec.group>``
    (ValidateCustomResourceDefinition), an APIService
    ``<spec.version>.<spec.group>`` (ValidateAPIService). Nothing when the
    spec is missing or malformed: the schema check reports that."""
    if not isinstance(body, dict):
        return []
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return []
    group = split_group(api_version)
    spec = body.get("spec")
    if (group, kind) == (_APIEXTENSIONS, "CustomResourceDefinition"):
        plural, crd_group = _dig(spec, "names", "plural"), _dig(spec, "group")
        if not (isinstance(plural, str) and plural and isinstance(crd_group, str) and crd_group):
            return []
        required = f"{plural}.{crd_group}"
        return _derived(body.get("metadata"), required, DNS1123_SUBDOMAIN,
                        f'must be spec.names.plural+"."+spec.group ({_show(required)})')
    if (group, kind) == (_APIREGISTRATION, "APIService"):
        version, api_group = _dig(spec, "version"), _dig(spec, "group")
        if not isinstance(version, str) or not version or not isinstance(api_group, (str, type(None))):
            return []
        required = f"{version}.{api_group or ''}"
        return _derived(body.get("metadata"), required, PATH_SEGMENT,
                        f'must be `spec.version+"."+spec.group`: {_show(required)}')
    return []
