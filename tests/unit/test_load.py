"""The loader: objects with file and line, YAML 1.1 scalars as Kubernetes
reads them, duplicate keys, limits, and clear errors for bad input."""

from __future__ import annotations

import gc
import math
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.errors import ShipyardError
from shipyard.load import (
    INVALID_YAML,
    YAML_LIMIT,
    format_path,
    load_documents,
    load_file,
    load_text,
)

STREAM = """\
# leading comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: first
data:
  a: "1"
---
---
# only a comment
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: second
  labels:
    app: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx
      - name: sidecar
        image: envoy
        args: ["--port", "9000"]
"""


def test_objects_keep_file_and_document_line() -> None:
    loaded = load_text(STREAM, "base/app.yaml", target="overlays/dev")
    assert loaded.findings == []
    first, second = loaded.objects
    assert (first.kind, first.name, str(first.source)) == ("ConfigMap", "first", "base/app.yaml:2")
    assert (second.kind, second.name, second.source.line) == ("Deployment", "second", 12)
    assert second.target == "overlays/dev"
    assert second.body["spec"]["template"]["spec"]["containers"][1]["args"] == ["--port", "9000"]


def test_field_lines_are_found_lazily() -> None:
    second = load_text(STREAM, "app.yaml").objects[1]
    assert second.lines is None and second.line_resolver is not None
    assert second.line_of(("metadata", "labels", "app")) == 17
    containers = ("spec", "template", "spec", "containers")
    assert second.line_of(containers) == 21
    assert second.line_of((*containers, 1)) == 24
    assert second.line_of((*containers, 1, "image")) == 25
    assert second.line_of((*containers, 1, "args", 1)) == 26
    # a path that does not exist (a missing required field) gives its nearest parent
    assert second.line_of((*containers, 1, "resources", "limits")) == 24
    assert second.line_of(()) == 12


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", True), ("On", True), ("TRUE", True), ("no", False), ("off", False), ("False", False),
        ("~", None), ("null", None), ("", None),
        ("42", 42), ("-7", -7), ("0755", 0o755), ("0x1F", 31), ("0b101", 5), ("1_000", 1000), ("+3", 3),
        ("1.5", 1.5), ("-1.5e+3", -1500.0), (".5", 0.5), (".inf", math.inf), ("-.Inf", -math.inf),
        # what Kubernetes' YAML reader keeps as strings
        ("2024-01-31", "2024-01-31"), ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("1:20", "1:20"), ("1e3", "1e3"), ("y", "y"), ("n", "n"), ("08", "08"), ("--port=80", "--port=80"),
        ("=", "="), ("'true'", "true"), ('"42"', "42"), ("!!str 42", "42"), ("!!int '7'", 7), ("!!float 1", 1.0),
    ],
)
def test_scalars_resolve_like_kubernetes(text: str, value: object) -> None:
    (body, _), = load_documents(f"v: {text}\n", "values.yaml")
    assert body["v"] == value and type(body["v"]) is type(value)


def test_nan_is_a_float() -> None:
    (body, _), = load_documents("v: .NaN\n", "x.yaml")
    assert math.isnan(body["v"])


def test_keys_become_strings_as_in_json() -> None:
    (body, _), = load_documents("80: http\ntrue: yes\n~: x\n0x10: y\n'8080': z\n", "x.yaml")
    assert body == {"80": "http", "true": True, "null": "x", "16": "y", "8080": "z"}


def test_block_and_flow_styles() -> None:
    text = "a: |\n  line one\n  line two\nb: >-\n  folded\n  text\nc: {d: [1, 'two', {e: null}]}\n"
    (body, _), = load_documents(text, "x.yaml")
    assert body == {"a": "line one\nline two\n", "b": "folded text", "c": {"d": [1, "two", {"e": None}]}}


def test_duplicate_keys_are_findings_and_the_last_value_wins() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: '1'\n  b: '2'\n  a: '3'\n"
    loaded = load_text(text, "cm.yaml", target="overlays/dev")
    assert loaded.objects[0].body["data"] == {"a": "3", "b": "2"}
    (finding,) = loaded.findings
    assert (finding.check, finding.file, finding.line, finding.target) == ("SY103", "cm.yaml", 8, "overlays/dev")
    assert "data.a (first at line 6)" in finding.message
    assert finding.object is not None and finding.object.name == "x"


def test_duplicate_keys_in_list_items_name_their_path() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: x\n    image: y\n"
    (finding,) = load_text(text, "pod.yaml").findings
    assert finding.line == 9 and "spec.containers[0].image (first at line 8)" in finding.message


def test_merge_keys_are_not_duplicates() -> None:
    text = "base: &base\n  a: 1\n  b: 2\nother:\n  <<: *base\n  b: 3\nlate:\n  b: 4\n  <<: [*base]\n"
    (body, _), = load_documents(text, "x.yaml")
    assert body["other"] == {"a": 1, "b": 3}
    assert body["late"] == {"a": 1, "b": 4}
    loaded = load_text("apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: x\nx:\n  <<: *m\n  name: y\n", "x.yaml")
    assert loaded.findings == []


def test_documents_that_are_not_objects() -> None:
    text = "- a\n- b\n---\nplain\n---\nvalues: 1\n---\napiVersion: v1\nmetadata: {name: x}\n"
    loaded = load_text(text, "x.yaml")
    assert loaded.objects == []
    assert [(f.check, f.line) for f in loaded.findings] == [("SY104", 1), ("SY104", 4), ("SY104", 6), ("SY104", 8)]
    assert "no apiVersion and no kind" in loaded.findings[2].message
    assert "no kind" in loaded.findings[3].message


def test_load_documents_returns_plain_data_with_lines() -> None:
    text = "# values\nreplicaCount: 2\nimage:\n  tag: '1.0'\n---\n---\n- a list is fine here\n"
    assert load_documents(text, "values.yaml") == [({"replicaCount": 2, "image": {"tag": "1.0"}}, 2), (["a list is fine here"], 7)]
    assert load_documents("", "empty.yaml") == []
    assert load_documents("# nothing\n", "empty.yaml") == []


def test_json_text_is_loaded_with_lines() -> None:
    text = '\n{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {"name": "j"},\n  "data": {"a": "b"}\n}\n'
    (obj,) = load_text(text, "cm.json").objects
    assert obj.source.line == 2 and obj.body["data"] == {"a": "b"}
    assert obj.line_of(("data", "a")) == 6
    dup = '{"apiVersion": "v1", "kind": "ConfigMap",\n "metadata": {"name": "j"},\n "kind": "ConfigMap"}\n'
    loaded = load_text(dup, "dup.json")
    assert [(f.check, f.line) for f in loaded.findings] == [("SY103", 3)]


def expect_error(text: str, check: str = INVALID_YAML) -> ShipyardError:
    with pytest.raises(ShipyardError) as info:
        load_text(text, "bad.yaml")
    assert info.value.check == check and info.value.file == "bad.yaml"
    return info.value


def test_malformed_yaml_names_file_and_line() -> None:
    error = expect_error("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [a, b\n")
    assert error.line == 6 and "invalid YAML" in error.message and error.hint
    error = expect_error("a: 1\n b: 2\n")
    assert error.line == 2
    error = expect_error("a:\n\t- b\n")
    assert error.line == 2


def test_control_characters_and_unsupported_tags() -> None:
    assert expect_error("a: 1\nb: \x07\n").line == 2
    error = expect_error("a: 1\nb: !vault secret\n")
    assert error.line == 2 and "unsupported YAML tag '!vault'" in error.message
    assert expect_error("a: !!int nope\n").line == 1
    error = expect_error("? [a, b]\n: c\n")
    assert "mapping key must be a scalar" in error.message


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(ShipyardError) as info:
        load_file(path, "latin1.yaml")
    assert info.value.check == INVALID_YAML and info.value.line == 2 and "UTF-8" in info.value.message


def test_files_with_a_bom_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfapiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n")
    (obj,) = load_file(path, "bom.yaml").objects
    assert obj.name == "ns" and obj.source.line == 1
    with pytest.raises(ShipyardError) as info:
        load_file(tmp_path / "nope.yaml", "nope.yaml")
    assert info.value.file == "nope.yaml"


def test_alias_bombs_stop_quickly() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 12):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    started = time.perf_counter()
    error = expect_error("\n".join(lines) + "\n", YAML_LIMIT)
    assert time.perf_counter() - started < 5
    assert "alias" in error.message


def test_recursive_aliases_stop() -> None:
    error = expect_error("a: &a\n  b: *a\n", YAML_LIMIT)
    assert error.line is not None


def test_few_aliases_are_fine() -> None:
    (body, _), = load_documents("x: &x {a: 1}\ny: [*x, *x]\n", "x.yaml")
    assert body == {"x": {"a": 1}, "y": [{"a": 1}, {"a": 1}]}


@pytest.mark.parametrize("depth", [2_000, 200_000])
def test_deep_nesting_is_an_error_not_a_crash(depth: int) -> None:
    error = expect_error("[" * depth + "]" * depth, YAML_LIMIT)
    assert "deep" in error.message


def test_deep_block_nesting_is_an_error() -> None:
    error = expect_error("- " * 30_000 + "x\n", YAML_LIMIT)
    assert "deep" in error.message


def test_collector_state_is_restored() -> None:
    assert gc.isenabled()
    load_text(STREAM, "x.yaml")
    assert gc.isenabled()
    gc.disable()
    try:
        load_text(STREAM, "x.yaml")
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ShipyardError):
        load_text("a: [\n", "x.yaml")
    assert gc.isenabled()


def test_format_path() -> None:
    assert format_path(("spec", "containers", 0, "image")) == "spec.containers[0].image"
    assert format_path(("metadata", "labels", "app.kubernetes.io/name")) == 'metadata.labels["app.kubernetes.io/name"]'
    assert format_path(()) == "(document)"


json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20) | st.floats(
    allow_nan=False, allow_infinity=False, width=32
)
json_data = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=10), children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.lists(json_data, min_size=1, max_size=3))
def test_agrees_with_pyyaml_on_dumped_data(data: list[object]) -> None:
    text = yaml.dump_all(data, Dumper=yaml.CSafeDumper, explicit_start=True)
    expected = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
    assert [doc for doc, _ in load_documents(text, "x.yaml")] == expected


# --------------------------------------------------------------------------
# The strict reader (load_located): an index of lines, dates, integers.

LOCATED = """\
base: &base
  image: nginx
  ports: [80, 443]
app:
  <<: *base
  name: web
  replicas: 2
  containers:
  - name: a
    args:
    - x
  - &second
    name: b
copy: *second
"""


@pytest.mark.parametrize("path", [
    (), ("base",), ("base", "image"), ("base", "ports", 1), ("app", "image"), ("app", "name"), ("app", "ports", 0),
    ("app", "containers", 0, "args", 0), ("app", "containers", 1, "name"), ("copy", "name"), ("app", "missing", "x"),
    ("app", "containers", 5), ("app", 0), ("base", "image", "deeper"),
])
def test_the_line_index_agrees_with_the_nodes(path: tuple[str | int, ...]) -> None:
    """load_located answers from its index what a manifest's lazy re-parse
    answers from the nodes, merges and aliases included."""
    from shipyard.load import load_located

    (manifest,) = load_text("apiVersion: v1\nkind: X\n" + LOCATED, "x.yaml").objects
    located = load_located("apiVersion: v1\nkind: X\n" + LOCATED, "x.yaml")
    assert located.line_of(path) == manifest.line_of(path)


@pytest.mark.parametrize(("text", "problem"), [
    ("2026-02-30", "day is out of range for month"),
    ("2026-02-30T00:00:00Z", "day is out of range for month"),
    ("0000-01-01", "year 0 is out of range"),
    ("2026-01-01T24:00:00Z", "hour must be in 0..23"),
    ("2026-01-01 10:00:61", "second must be in 0..59"),
    ("2026-01-01T10:00:00+24:00", "offset must be a timedelta"),
])
def test_a_date_that_does_not_exist_is_refused_by_the_strict_reader(text: str, problem: str) -> None:
    """ruamel.yaml, which edits these files, fails on them with a bare
    ValueError; manifests keep them as strings, as Kubernetes does."""
    from shipyard.load import load_located

    with pytest.raises(ShipyardError) as raised:
        load_located(f"a: 1\nwhen: {text}\n", "model.yaml")
    assert (raised.value.check, raised.value.line) == (INVALID_YAML, 2)
    assert raised.value.message.startswith(f"{text} is read as a date by YAML, and it is not one ({problem}")
    (body, _), = load_documents(f"when: {text}\n", "x.yaml")
    assert body == {"when": text}


@pytest.mark.parametrize("text", ['"2026-02-30"', "2026-02-28", "2026-1-1", "2026-10-01T00:00:00Z", "v2026-02-30",
                                  "2026-02-30x", "1.2.3"])
def test_real_dates_and_quoted_or_other_text_pass_the_strict_reader(text: str) -> None:
    from shipyard.load import load_located

    assert load_located(f"when: {text}\n", "x.yaml").data == {"when": text.strip('"')}


@pytest.mark.parametrize(("text", "ok"), [
    ("1" * 4300, True), ("1" * 4301, False), ("-" + "9" * 5000, False), ("0x" + "f" * 3500, True),
    ("0x" + "f" * 3600, False), ("0b" + "1" * 20000, False), ("0" + "7" * 6000, False), ("!!int " + "1" * 5000, False),
    ("!!float 1" + "0" * 400, False),
])
def test_integers_past_what_python_converts(text: str, ok: bool) -> None:
    """Python's int() and str() raise past 4,300 decimal digits: the loader
    refuses such an integer with its line, in any base, instead."""
    if ok:
        (body, _), = load_documents(f"a: 1\nn: {text}\n", "x.yaml")
        assert len(str(body["n"])) <= 4300
        return
    with pytest.raises(ShipyardError) as raised:
        load_documents(f"a: 1\nn: {text}\n", "x.yaml")
    assert (raised.value.check, raised.value.line) == (INVALID_YAML, 2)


def test_the_alias_budget_counts_characters() -> None:
    """A 100 KB string aliased 200 times expands to 20 MB from a 100 KB text."""
    text = f"a: &a {'x' * 100_000}\nb: [{', '.join(['*a'] * 200)}]\n"
    with pytest.raises(ShipyardError) as raised:
        load_documents(text, "x.yaml")
    assert (raised.value.check, raised.value.line) == (YAML_LIMIT, 2)
    # the same aliases to a short string are nothing
    (body, _), = load_documents(f"a: &a short\nb: [{', '.join(['*a'] * 200)}]\n", "x.yaml")
    assert body["b"] == ["short"] * 200


@pytest.mark.parametrize("text", ["[" * 201 + "]" * 201, '{"a": ' * 201 + "1" + "}" * 201,
                                  "a:\n" + "".join("  " * i + "- \n" for i in range(1, 202))])
def test_nesting_past_the_limit_in_any_form(text: str) -> None:
    with pytest.raises(ShipyardError) as raised:
        load_documents(text, "x.yaml")
    assert raised.value.check == YAML_LIMIT and "nests more than 200 levels deep" in raised.value.message


def test_list_documents_are_their_items_with_their_own_lines() -> None:
    """kubectl and kustomize apply a <Kind>List item by item; the list needs no metadata."""
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
        "- kind: ConfigMap\n  metadata: {name: b}\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n    labels: {x: y}\n"
    )
    loaded = load_text(text, "list.yaml")
    assert [o.name for o in loaded.objects] == ["a", "c"]
    assert [o.source.line for o in loaded.objects] == [4, 9]
    assert loaded.objects[1].line_of(("metadata", "labels", "x")) == 13
    assert [(f.check, f.line) for f in loaded.findings] == [("SY104", 7)]
