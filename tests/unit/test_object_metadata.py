"""shipyard.schemas.metadata: ObjectMeta as the API server validates it on
create, SY107's rules as pure functions. The accepted and refused values of
the string rules are those of k8s.io/apimachinery's own tests
(pkg/util/validation/validation_test.go); messages are the API server's."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shipyard.schemas.metadata import (
    CRONJOB_NAME,
    DNS1035_LABEL,
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    NAME_RULES,
    PATH_SEGMENT,
    TOTAL_ANNOTATION_SIZE_LIMIT_B,
    MetaProblem,
    field_name,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_key_problem,
    is_qualified_name,
    is_valid_label_value,
    is_valid_path_segment_name,
    name_rule,
    object_meta_problems,
    object_meta_value_problems,
    required_name_problems,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
QUALIFIED_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def meta(metadata: Any, api_version: str = "apps/v1", kind: str = "Deployment") -> list[MetaProblem]:
    return object_meta_problems(metadata, api_version=api_version, kind=kind)


# --------------------------------------------------------------------------
# The string rules (validation.go), on apimachinery's own cases.

DNS1123_LABEL_GOOD = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2", "a" * 63]
DNS1123_LABEL_BAD = ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b",
                     "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ", "a ", " a", "a b", "1 ", " 1",
                     "1 2", "a" * 64]


@pytest.mark.parametrize("value", DNS1123_LABEL_GOOD)
def test_dns1123_label_accepts(value: str) -> None:
    assert is_dns1123_label(value) == ()


@pytest.mark.parametrize("value", DNS1123_LABEL_BAD)
def test_dns1123_label_refuses(value: str) -> None:
    assert is_dns1123_label(value)


@pytest.mark.parametrize(("value", "messages"), [
    ("a.b", ("must not contain dots",)),
    ("Bad_NS", (LABEL_MSG,)),
    ("a" * 64, ("must be no more than 63 characters",)),
    ("A" * 64, ("must be no more than 63 characters", LABEL_MSG)),
])
def test_dns1123_label_says_why(value: str, messages: tuple[str, ...]) -> None:
    assert is_dns1123_label(value) == messages


@pytest.mark.parametrize("value", [
    "a", "a-1", "1--a--b--2", "a.a", "a--1--2--b.a", "0.1", "1--a--b--2.1", "a.b.c.d.e", "11.22.33.44.55", "a" * 253,
])
def test_dns1123_subdomain_accepts(value: str) -> None:
    assert is_dns1123_subdomain(value) == ()


@pytest.mark.parametrize("value", [
    "", "A", "aBc", "-", "a-", "-a", "_", "a_b", ".", "a.", ".a", "a..b", "1..2", " ", "a b", "A.a", "ab.A", "0.A",
    "a.B.c.d.e", "a@b", "a,b", "a;b", "a:b", "a%b", "a?b", "a$b", "Tama-nui-te-rā", "a" * 254,
])
def test_dns1123_subdomain_refuses(value: str) -> None:
    assert is_dns1123_subdomain(value)


def test_dns1123_subdomain_message_is_the_api_servers() -> None:
    assert is_dns1123_subdomain("Scoring_API") == (SUBDOMAIN_MSG,)
    assert is_dns1123_subdomain("a" * 254) == ("must be no more than 253 characters",)


@pytest.mark.parametrize(("value", "ok"), [
    ("a", True), ("a--1--2--b", True), ("a" * 63, True),
    ("0", False), ("1a", False), ("a-", False), ("a.b", False), ("A", False), ("", False), ("a" * 64, False),
])
def test_dns1035_label(value: str, ok: bool) -> None:
    assert (is_dns1035_label(value) == ()) is ok


@pytest.mark.parametrize("value", [
    "simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now.with.dots/simple",
    "1-num.2-num/3-num", "1.2.3.4/5678", "Uppercase_Is_OK_123", "example.com/Uppercase_Is_OK_123",
    "requests.storage-foo", "a" * 63, "a" * 253 + "/" + "b" * 63, "app.kubernetes.io/name",
])
def test_qualified_name_accepts(value: str) -> None:
    assert is_qualified_name(value) == ()


@pytest.mark.parametrize(("value", "messages"), [
    ("nospecialchars%^=@", ("name part " + QUALIFIED_MSG,)),
    ("cantendwithadash-", ("name part " + QUALIFIED_MSG,)),
    ("Example.com/abc", ("prefix part " + SUBDOMAIN_MSG,)),
    ("example_com/abc", ("prefix part " + SUBDOMAIN_MSG,)),
    ("example.com/", ("name part must be non-empty", "name part " + QUALIFIED_MSG)),
    ("/simple", ("prefix part must be non-empty",)),
    ("a" * 64, ("name part must be no more than 63 characters",)),
    ("a" * 254 + "/abc", ("prefix part must be no more than 253 characters",)),
    ("only/one/slash", ("a qualified name " + QUALIFIED_MSG
                        + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",)),
])
def test_qualified_name_refuses_in_the_api_servers_words(value: str, messages: tuple[str, ...]) -> None:
    assert is_qualified_name(value) == messages


@pytest.mark.parametrize("value", ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234",
                                   "a" * 63, "", "1.4.2_rc.1"])
def test_label_value_accepts(value: str) -> None:
    assert is_valid_label_value(value) == ()


@pytest.mark.parametrize("value", ["nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad",
                                   "-starts-with-dash", "ends-with-dash-", ".starts.with.dot", "ends.with.dot.",
                                   "a" * 64, "ml platform/core"])
def test_label_value_refuses(value: str) -> None:
    assert is_valid_label_value(value)


def test_label_value_length_counts_bytes_as_go_does() -> None:
    assert is_valid_label_value("é" * 32)[0] == "must be no more than 63 characters"


@pytest.mark.parametrize(("value", "messages"), [
    ("system:controller:foo", ()), ("Models:Reader_Role", ()), ("a b", ()), ("...", ()),
    (".", ("may not be '.'",)), ("..", ("may not be '..'",)), ("a/b", ("may not contain '/'",)),
    ("50%/x", ("may not contain '/'", "may not contain '%'")),
])
def test_path_segment_name(value: str, messages: tuple[str, ...]) -> None:
    assert is_valid_path_segment_name(value) == messages


def test_long_inputs_are_judged_in_linear_time() -> None:
    started = time.perf_counter()
    for text in ("a" * 200_000 + "_", "a-" * 100_000 + "_", "a." * 100_000 + "A"):
        assert is_qualified_name(text)
        assert is_dns1123_subdomain(text)
        assert is_valid_label_value(text)
    assert time.perf_counter() - started < 2


# --------------------------------------------------------------------------
# Name rules per kind.


@pytest.mark.parametrize(("api_version", "kind", "rule"), [
    ("v1", "Service", DNS1035_LABEL),
    ("v1", "Namespace", DNS1123_LABEL),
    ("v1", "ConfigMap", DNS1123_SUBDOMAIN),
    ("v1", "ServiceAccount", DNS1123_SUBDOMAIN),
    ("apps/v1", "Deployment", DNS1123_SUBDOMAIN),
    ("apps/v1", "StatefulSet", DNS1123_LABEL),
    ("batch/v1", "CronJob", CRONJOB_NAME),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", PATH_SEGMENT),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", PATH_SEGMENT),
    ("apiregistration.k8s.io/v1", "APIService", PATH_SEGMENT),
    ("serving.knative.dev/v1", "Service", DNS1123_SUBDOMAIN),  # a custom resource, not the core Service
    ("machinelearning.seldon.io/v1", "SeldonDeployment", DNS1123_SUBDOMAIN),
    ("example.com/v1", "Anything", DNS1123_SUBDOMAIN),
])
def test_each_kind_has_its_name_rule(api_version: str, kind: str, rule: object) -> None:
    assert name_rule(api_version, kind) is rule


def test_the_table_is_keyed_by_group_and_kind() -> None:
    assert all(isinstance(group, str) and isinstance(kind, str) and kind[:1].isupper() for group, kind in NAME_RULES)


@pytest.mark.parametrize(("api_version", "kind", "name"), [
    ("apps/v1", "Deployment", "scoring-api.v2"),
    ("v1", "ConfigMap", "seldon-config.v1.17"),
    ("v1", "Service", "scoring-api"),
    ("v1", "Namespace", "models"),
    ("apps/v1", "StatefulSet", "feature-cache"),
    ("batch/v1", "CronJob", "c" * 52),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "system:controller:foo"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "system:kube-scheduler"),
    ("rbac.authorization.k8s.io/v1", "Role", "Models:Reader_Role"),
    ("machinelearning.seldon.io/v1", "SeldonDeployment", "iris"),
])
def test_valid_names_pass(api_version: str, kind: str, name: str) -> None:
    assert meta({"name": name, "namespace": "models"}, api_version, kind) == []


@pytest.mark.parametrize(("api_version", "kind", "name", "message"), [
    ("apps/v1", "Deployment", "Scoring_API", f'Invalid value: "Scoring_API": {SUBDOMAIN_MSG}'),
    ("v1", "Service", "scoring.api", f'Invalid value: "scoring.api": {DNS1035_MSG}'),
    ("v1", "Service", "1st-api", f'Invalid value: "1st-api": {DNS1035_MSG}'),
    ("v1", "Namespace", "n" * 64, f'Invalid value: "{"n" * 64}": must be no more than 63 characters'),
    ("apps/v1", "StatefulSet", "feature.cache", 'Invalid value: "feature.cache": must not contain dots'),
    ("batch/v1", "CronJob", "c" * 53, f'Invalid value: "{"c" * 53}": must be no more than 52 characters'),
    ("rbac.authorization.k8s.io/v1", "Role", "models/reader", 'Invalid value: "models/reader": may not contain \'/\''),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "..", 'Invalid value: "..": may not be \'..\''),
    ("example.com/v1", "FeatureView", "Customer_Features", f'Invalid value: "Customer_Features": {SUBDOMAIN_MSG}'),
])
def test_invalid_names_are_refused(api_version: str, kind: str, name: str, message: str) -> None:
    assert meta({"name": name}, api_version, kind) == [MetaProblem(("name",), message)]


def test_every_message_of_one_value_is_one_problem() -> None:
    [problem] = meta({"name": "X" * 254})
    assert problem.message == f'Invalid value: "{"X" * 95}...": must be no more than 253 characters; {SUBDOMAIN_MSG}'


@pytest.mark.parametrize(("api_version", "kind", "generate_name", "ok"), [
    ("v1", "Pod", "batch-score-", True),
    ("v1", "Pod", "a-", True),
    ("v1", "Pod", "web--", True),  # maskTrailingDash turns the last two characters into 'a'
    ("v1", "Pod", "-", False),
    ("batch/v1", "Job", "Nightly_Train-", False),
    ("v1", "Service", "api-", True),
    ("v1", "Service", "1api-", False),
    ("v1", "Namespace", "team.", False),
    ("rbac.authorization.k8s.io/v1", "Role", "reader-", True),
    ("rbac.authorization.k8s.io/v1", "Role", "ops/", False),
    ("batch/v1", "CronJob", "c" * 60 + "-", True),  # the 52-character limit is on the name itself
])
def test_generate_name_is_judged_as_a_prefix(api_version: str, kind: str, generate_name: str, ok: bool) -> None:
    problems = meta({"generateName": generate_name}, api_version, kind)
    assert (problems == []) is ok
    assert all(p.path == ("generateName",) for p in problems)


def test_a_missing_name_is_not_a_problem_here() -> None:
    assert meta({}) == []
    assert meta({"name": "", "generateName": None}) == []
    assert meta(None) == []


# --------------------------------------------------------------------------
# Namespace, labels, annotations, finalizers.


def test_namespace_is_a_dns_label() -> None:
    assert meta({"name": "a", "namespace": "ML_Models"}, "v1", "ConfigMap") == [
        MetaProblem(("namespace",), f'Invalid value: "ML_Models": {LABEL_MSG}')]
    assert meta({"name": "a", "namespace": "team.models"}, "v1", "ConfigMap") == [
        MetaProblem(("namespace",), 'Invalid value: "team.models": must not contain dots')]


@pytest.mark.parametrize(("api_version", "kind"), [
    ("v1", "Namespace"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), ("storage.k8s.io/v1", "StorageClass"),
])
def test_a_cluster_scoped_kinds_namespace_is_cleared_not_judged(api_version: str, kind: str) -> None:
    assert meta({"name": "x.example.com" if kind == "CustomResourceDefinition" else "x", "namespace": "Not_Used"},
                api_version, kind) == []


def test_labels() -> None:
    labels = {
        "app.kubernetes.io/name": "scoring-api",
        "app.kubernetes.io/version": "1.4.2_rc.1",
        "canary": "",
        "release": None,  # null is the empty string
        "team": "ml platform/core",
        "ML.Example.com/tier": "web",
        "v": "x" * 64,
    }
    assert meta({"name": "a", "labels": labels}) == [
        MetaProblem(("labels", "team"), f'Invalid value: "ml platform/core": {LABEL_VALUE_MSG}'),
        MetaProblem(("labels", "ML.Example.com/tier"), f'Invalid key: "ML.Example.com/tier": prefix part {SUBDOMAIN_MSG}'),
        MetaProblem(("labels", "v"), f'Invalid value: "{"x" * 64}": must be no more than 63 characters'),
    ]


def test_key_problems_say_they_are_about_the_key() -> None:
    value, key = meta({"name": "a", "labels": {"team": "a b", "a b": "team"}})
    assert not is_key_problem(value) and is_key_problem(key)
    assert value.path == key.path[:1] + ("team",) and key.path == ("labels", "a b")


def test_annotation_keys_are_qualified_names_in_any_case() -> None:
    annotations = {
        "Example.com/Owner": "ml-platform",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "description": "any text: spaces, slashes / and all",
        "owner email": "ml@example.com",
        "example.com/a/b": "x",
        "_private": "x",
    }
    problems = meta({"name": "a", "annotations": annotations})
    assert [p.path for p in problems] == [("annotations", "owner email"), ("annotations", "example.com/a/b"),
                                          ("annotations", "_private")]
    assert problems[0].message == f'Invalid key: "owner email": name part {QUALIFIED_MSG}'
    assert all(is_key_problem(p) for p in problems)


@pytest.mark.parametrize(("size", "ok"), [(TOTAL_ANNOTATION_SIZE_LIMIT_B, True), (TOTAL_ANNOTATION_SIZE_LIMIT_B + 1, False)])
def test_annotations_total_at_most_256_kib(size: int, ok: bool) -> None:
    key = "example.com/model-card"
    annotations = {key: "x" * (size - len(key))}
    problems = meta({"name": "a", "annotations": annotations})
    if ok:
        assert problems == []
    else:
        assert problems == [MetaProblem(("annotations",), f"Too long: may not be more than 262144 bytes"
                                                          f" (keys and values total {size} bytes)")]


def test_annotation_size_counts_utf8_bytes() -> None:
    annotations = {"a": "é" * (TOTAL_ANNOTATION_SIZE_LIMIT_B // 2)}  # 131,072 characters, 262,144 bytes, plus the key
    assert [p.path for p in meta({"name": "a", "annotations": annotations})] == [("annotations",)]


def test_finalizers() -> None:
    problems = meta({"name": "a", "finalizers": ["example.com/cleanup", "kubernetes", "clean up", "orphan",
                                                 "foregroundDeletion"]})
    assert problems == [
        MetaProblem(("finalizers", 2), f'Invalid value: "clean up": name part {QUALIFIED_MSG}'),
        MetaProblem(("finalizers",), "Invalid value: finalizer orphan and foregroundDeletion cannot be both set"),
    ]


# --------------------------------------------------------------------------
# Any shape: a problem, never an exception.


@pytest.mark.parametrize(("metadata", "path", "message"), [
    ([1], (), "must be an object, not array [1]"),
    ("name: x", (), 'must be an object, not string "name: x"'),
    ({"name": 7}, ("name",), "must be a string, not integer 7"),
    ({"namespace": True}, ("namespace",), "must be a string, not boolean true"),
    ({"labels": ["a"]}, ("labels",), 'must be a map of strings, not array ["a"]'),
    ({"labels": {"version": 2}}, ("labels", "version"), "must be a string, not integer 2"),
    ({"labels": {3: "x"}}, ("labels", 3), "must be a string key, not integer 3"),
    ({"annotations": {"a": {"b": 1}}}, ("annotations", "a"), 'must be a string, not object {"b": 1}'),
    ({"finalizers": "example.com/x"}, ("finalizers",), 'must be an array of strings, not string "example.com/x"'),
    ({"finalizers": [None]}, ("finalizers", 0), "must be a string, not null"),
])
def test_any_shape_is_a_problem(metadata: Any, path: tuple[str | int, ...], message: str) -> None:
    assert MetaProblem(path, message) in meta(metadata)
    assert MetaProblem(path, message) not in object_meta_value_problems(metadata, api_version="v1", kind="Pod")


def test_odd_values_never_raise() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    for metadata in (cyclic, {"labels": cyclic}, {"name": cyclic}, {"annotations": {"a": float("nan")}},
                     {"labels": {None: None}}, {"name": "\ud800"}, 3.5, object()):
        assert isinstance(meta(metadata), list)
    assert isinstance(object_meta_problems({"name": "x"}, api_version=None, kind=7), list)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Names a spec dictates.


def crd(name: str, plural: str = "featureviews", group: str = "features.example.com") -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
            "spec": {"group": group, "names": {"plural": plural, "kind": "FeatureView"}}}


def test_a_crd_is_named_plural_dot_group() -> None:
    assert required_name_problems(crd("featureviews.features.example.com")) == []
    assert required_name_problems(crd("featureviews")) == [MetaProblem(
        ("name",), 'Invalid value: "featureviews": must be spec.names.plural+"."+spec.group'
                   ' ("featureviews.features.example.com")')]
    assert required_name_problems(crd("featureview.features.example.com"))


def test_an_invalid_crd_name_is_one_problem_not_two() -> None:
    body = crd("Feature_Views")
    assert required_name_problems(body) == []
    assert [p.path for p in meta(body["metadata"], body["apiVersion"], body["kind"])] == [("name",)]


def test_an_apiservice_is_named_version_dot_group() -> None:
    def api_service(name: str) -> dict[str, Any]:
        return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": name},
                "spec": {"group": "metrics.k8s.io", "version": "v1beta1"}}
    assert required_name_problems(api_service("v1beta1.metrics.k8s.io")) == []
    assert required_name_problems(api_service("metrics")) == [MetaProblem(
        ("name",), 'Invalid value: "metrics": must be `spec.version+"."+spec.group`: "v1beta1.metrics.k8s.io"')]


@pytest.mark.parametrize("body", [
    None, [], {"kind": "CustomResourceDefinition"}, crd("x") | {"spec": None}, crd("x", plural=""),
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": "x", "spec": {}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
])
def test_no_spec_no_derived_name(body: Any) -> None:
    assert required_name_problems(body) == []


@pytest.mark.parametrize(("path", "name"), [
    (("name",), "metadata.name"), (("labels", "app.kubernetes.io/name"), "metadata.labels['app.kubernetes.io/name']"),
    (("finalizers", 0), "metadata.finalizers[0]"), ((), "metadata"),
])
def test_field_names(path: tuple[str | int, ...], name: str) -> None:
    assert field_name(path) == name
