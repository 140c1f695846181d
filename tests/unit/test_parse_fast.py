"""The fast reader (shipyard.yaml_fast, rapidyaml) gives what the exact
reader (libyaml in shipyard.load) gives, or leaves the document to it.

Each test reads the same text both ways and compares values, document
lines, field lines, duplicate keys and errors.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard import load, yaml_fast
from shipyard.errors import ShipyardError

pytestmark = pytest.mark.skipif(not yaml_fast.available(), reason="rapidyaml is not installed")


def _both(text: str) -> tuple[list[Any], list[Any]]:
    """(fast, exact) documents of ``text``; the fast side as the loader
    runs it (pieces it refuses go to the exact reader)."""
    fast = load._fast_documents(text, "t.yaml")
    exact = load._exact_documents(text, "t.yaml", False)
    assert fast is not None, "the fast reader refused the whole text"
    return _present(fast), _present(exact)


def _present(docs: list[Any]) -> list[Any]:
    """Documents with a value: every reader of the loader skips empty ones."""
    return [d for d in docs if d.body is not None]


def _same(text: str, paths: list[tuple[str | int, ...]] = []) -> list[Any]:
    fast, exact = _both(text)
    assert [json.dumps(d.body, sort_keys=True) for d in fast] == [json.dumps(d.body, sort_keys=True) for d in exact]
    assert [type(d.body) for d in fast] == [type(d.body) for d in exact]
    assert [d.line for d in fast] == [d.line for d in exact]
    assert [d.duplicates for d in fast] == [d.duplicates for d in exact]
    for f, e in zip(fast, exact):
        for path in paths:
            assert f.lines(path) == e.lines(path), path
    return fast


def _fast_share(text: str) -> tuple[int, int]:
    found = yaml_fast.chunks(text)
    assert found is not None
    return sum(not c.exact for c in found), sum(c.exact for c in found)


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels: {{app: web, tier: "{i}"}}
spec:
  replicas: {i}
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27.{i}
          args: ["--port=80", '--x']
          env:
            - {{name: A, value: ""}}
            - name: B
              value: "on"
"""


def test_a_plain_stream_is_read_by_the_fast_reader_with_the_same_lines() -> None:
    text = "# leading comment\n" + "---\n".join(DEPLOYMENT.format(i=i) for i in range(40))
    paths: list[tuple[str | int, ...]] = [(), ("spec", "template", "spec", "containers", 0, "image"),
                                          ("metadata", "labels", "tier"), ("spec", "missing")]
    _same(text, paths)
    fast, exact = _fast_share(text)
    assert exact == 40  # every document quotes "on": the exact reader decides what it means
    plain = text.replace('value: "on"', "value: x")
    _same(plain, paths)
    assert _fast_share(plain) == (40, 0)


YAML11 = [
    "a: yes\nb: No\nc: ON\nd: off\n",
    "mode: 0755\nhex: 0x1F\nbin: 0b101\nbig: 1_000\n",
    "f: .inf\ng: -.inf\nh: .nan\ni: .5\nj: -.5\nk: 5.\nl: 1e3\nm: 1.5e+3\nn: 1.0\n",
    "t: True\nu: TRUE\nv: Null\nw: ~\nx:\ny: null\n",
    "True: 1\n~: 2\n0755: 3\n1.50: 4\n80: 5\n'0755': 6\n\"yes\": 7\n",
    "'yes': 1\nq: 'yes'\nr: \"0755\"\ns: '8080'\nt: \"1.5\"\nu: ''\nv: 'null'\n",
    "base: &b {x: 1}\nuse: *b\nmerged:\n  <<: *b\n  y: 2\n",
    "inline:\n  <<: {x: 1}\n  y: 2\n",
    "a: !!str 12\nb: !!int '7'\n",
    "a: 1\nb: 2\na: 3\n",
    "outer:\n  k: 1\n  k: 2\n",
    "a: +1\nb: +1.5\nc: 00.5\nd: -0\ne: 012\n",
    "s: |\n  line one\n  line two\n\nf: >-\n  folded\n  text\n\n  para\nk: |+\n  keep\n\n",
    "p: plain\n  multi\n\n  line\nq: \"dq \\\" \\\\ \\u00e9 \\x41\\n\"\nr: 'sq ''x'''\n",
    "e: \"\\e\\0\"\n",
    "tab: \"a\tb\"\n",
    "u: \"\\N\\L\\P\\_\"\n",
    "flow: {a: , b, c: [1, {d: e}]}\nseq: [a, b: c]\n",
    "- 1\n- two\n",
    "just a scalar\n",
    "? complex\n: key\n",
    "nul: \"\\0\"\n",
    "digits: 1:20\ntime: 2026-01-01\ndate: 2026-02-30\n",
    "crlf: |\r\n  x\r\n  y\r\nb: 1\r\n",
    "key with spaces: v\n\"quoted key\": v\n'': empty\n",
    "emoji: \"\U0001F600\"\nraw: caf\u00e9\n",
    "long: " + "9" * 40 + "\nneg: -" + "7" * 30 + "\n",
    "f1: {?a: b}\nf2: [?a]\nf4: [a,\n  ?b]\n",
    "f5: {? a: b}\nf6: [? a]\n",
    "a: &x 1\nb: [1, *x]\nc: !!str 3\n",
    "- &anchor\n  k: v\n- *anchor\n",
]

PROSE = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.com
spec:
  pattern: ^[a-z]*$
  glob: 'registry/*/image'
  note: "is it ready ? yes ! * not & done"
  rule: '(has(self.a) ? 1 : 0) + (has(self.b)
    ? 1 : 0) <= 1'
  cel: 'self.x.startsWith("unix://")
    ? !has(self.ports) : true'
  text: |
    * a bullet
    ? a line that starts with a question mark
    !important & more
  plain: a * b
"""


@pytest.mark.parametrize("doc", YAML11)
def test_yaml_1_1_values_are_read_as_the_exact_reader_reads_them(doc: str) -> None:
    text = f"---\n{doc}---\n{doc}"
    _same(text, [(), ("a",), ("outer", "k"), (0,), ("merged", "x"), ("s",)])


def test_prose_that_looks_like_anchors_tags_or_keys_is_read_by_the_fast_reader() -> None:
    """CRD descriptions and CEL rules are full of ``*``, ``?``, ``!`` and
    ``&``: rapidyaml's tree says there is no anchor, alias or tag, so the
    document stays on the fast route, and reads as the exact reader reads it."""
    text = f"---\n{PROSE}---\n{PROSE}"
    _same(text, [("spec", "rule"), ("spec", "text")])
    assert _fast_share(text) == (2, 0)


@pytest.mark.parametrize("doc", ["a: &x 1\nb: *x\n", "k: !!str 3\n", "f: {?a: b}\n", "f: [?a]\n", "f: {x, ?a: b}\n",
                                 "- &a {k: v}\n- *a\n"])
def test_real_anchors_aliases_tags_and_glued_flow_keys_go_to_the_exact_reader(doc: str) -> None:
    text = f"---\n{PROSE}---\n{doc}"
    _same(text)
    assert _fast_share(text) == (1, 1)


def test_documents_and_lines_around_markers_and_comments() -> None:
    text = ("a: 1\n---\n# only a comment\n---\n\n\n  # indented comment\nb: 2\n--- {c: 3}\n---   \n"
            "d:\n  - 4\n---\n---\n--- # trailing\ne: 5\n")
    fast = _same(text, [("b",), ("d", 0), ("c",)])
    assert [d.line for d in fast] == [1, 8, 9, 11, 16]


def test_duplicate_keys_keep_their_lines() -> None:
    text = "---\n".join(DEPLOYMENT.format(i=i) for i in range(3)) + "---\nkind: X\nkind: Y\n"
    fast = _same(text)
    assert fast[-1].duplicates == [(("kind",), 2 + DEPLOYMENT.count("\n") * 3 + 3, 2 + DEPLOYMENT.count("\n") * 3 + 2)]


def _both_refuse(text: str) -> tuple[ShipyardError, ShipyardError]:
    """(fast, exact): the errors the loader (fast route on, whatever the
    text's length) and the exact reader raise for ``text``."""
    with pytest.raises(ShipyardError) as exact:
        load._exact_documents(text, "t.yaml", False)
    saved = load.FAST_MIN_CHARS
    load.FAST_MIN_CHARS = 0
    try:
        with pytest.raises(ShipyardError) as fast:
            load._documents(text, "t.yaml")
    finally:
        load.FAST_MIN_CHARS = saved
    return fast.value, exact.value


def test_malformed_yaml_gets_the_exact_error_and_rapidyaml_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    good = "---\n".join(DEPLOYMENT.format(i=i) for i in range(30))
    text = good + "---\nbroken: [1, 2\nnext: 3\n"
    fast, exact = _both_refuse(text)
    assert (fast.message, fast.line, fast.check) == (exact.message, exact.line, exact.check)
    out, err = capfd.readouterr()
    assert "ERROR" not in err and "c4" not in err, err


REFUSED = [
    "k" * 1100 + ": 1\n",  # libyaml's limit on a simple key; rapidyaml has none
    "a: 1\n" + "b" * 1100 + ": 2\n",
    "a: @x\n", "a: `x\n", "a: %x\n",  # reserved indicators
    "a: *\n", "a: &\n", "a: & x\n",  # an alias or anchor with no name
    "a: b\n  c: d\n", "- a\nb: c\n", "[1, 2]]\n", 'a: "x\\q"\n', "a: >\n  x\n y\n", "a: [b, c]: d\n",
]


@pytest.mark.parametrize("doc", REFUSED)
def test_what_libyaml_refuses_is_refused_with_its_message(doc: str, capfd: pytest.CaptureFixture[str]) -> None:
    text = "---\n".join(DEPLOYMENT.format(i=i) for i in range(3)) + "---\n" + doc
    fast, exact = _both_refuse(text)
    assert (fast.message, fast.line) == (exact.message, exact.line)
    assert "ERROR" not in capfd.readouterr().err


def test_nesting_past_rapidyamls_limit_goes_to_the_exact_reader_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    deep = "a: " + "[" * 80 + "]" * 80 + "\n"
    fast = _same("x: 1\n---\n" + deep)
    value = fast[1].body["a"]
    for _ in range(79):
        value = value[0]
    assert value == []
    assert "ERROR" not in capfd.readouterr().err
    with pytest.raises(ShipyardError) as too_deep:
        load.load_text("a: " + "[" * 300 + "]" * 300 + "\n" + "#" * load.FAST_MIN_CHARS, "t.yaml")
    assert too_deep.value.check == load.YAML_LIMIT


def test_an_alias_bomb_is_refused_by_the_budget() -> None:
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{chr(98 + k)}: &{chr(98 + k)} [*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)},"
        f"*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)},*{chr(97 + k)}]\n" for k in range(8))
    with pytest.raises(ShipyardError) as refused:
        load.load_text(bomb + "#" * load.FAST_MIN_CHARS, "bomb.yaml")
    assert refused.value.check == load.YAML_LIMIT


def test_a_large_text_takes_the_fast_route_through_load_text() -> None:
    text = "---\n".join(DEPLOYMENT.format(i=i).replace('"on"', "x") for i in range(400))
    assert len(text) >= load.FAST_MIN_CHARS
    calls: list[int] = []
    original = yaml_fast.chunks

    def counting(t: str, *, share: bool = False) -> Any:
        calls.append(len(t))
        return original(t, share=share)

    yaml_fast.chunks = counting  # type: ignore[assignment]
    try:
        loaded = load.load_text(text, "big.yaml")
    finally:
        yaml_fast.chunks = original  # type: ignore[assignment]
    assert calls == [len(text)]
    assert len(loaded.objects) == 400 and not loaded.findings
    obj = loaded.objects[399]
    assert obj.source.line == 1 + DEPLOYMENT.count("\n") * 399 + 399
    assert obj.line_resolver is not None
    assert obj.line_resolver(("spec", "replicas")) == obj.source.line + 6


# Generated documents: PyYAML writes them in every style, both readers read them.

_WORDS = st.sampled_from(["yes", "no", "on", "Off", "True", "null", "~", "", "0755", "0x1F", "1_000", "8080", "-3",
                          "1.5", ".5", "1e3", ".inf", "<<", "a: b", "- x", "#c", "x #y", "'q'", '"d"', "\\", "é", "\n",
                          "tab\t", " lead", "trail ", "---", "...", "*x", "&y", "!t", "%p", "{", "]", "2026-01-01"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                     st.floats(allow_nan=False, allow_infinity=False), _WORDS,
                     st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12))
_VALUES = st.recursive(_SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.one_of(_WORDS, st.text(max_size=6)), kids, max_size=4)), max_leaves=25)
_STYLES = st.sampled_from([
    {"default_flow_style": False}, {"default_flow_style": True}, {"default_flow_style": None},
    {"default_style": '"'}, {"default_style": "'"}, {"default_flow_style": False, "indent": 4, "width": 20},
    {"default_flow_style": False, "allow_unicode": True},
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.text(max_size=5), _VALUES, max_size=5), min_size=1, max_size=4), _STYLES)
def test_generated_documents_read_the_same(docs: list[dict[str, Any]], style: dict[str, Any]) -> None:
    try:
        text = yaml.dump_all(docs, Dumper=yaml.SafeDumper, explicit_start=True, **style)
    except yaml.YAMLError:
        return
    try:
        exact = load._exact_documents(text, "t.yaml", False)
    except ShipyardError as exc:
        saved = load.FAST_MIN_CHARS
        load.FAST_MIN_CHARS = 0
        try:
            with pytest.raises(ShipyardError) as fast_error:
                load._documents(text, "t.yaml")
        finally:
            load.FAST_MIN_CHARS = saved
        assert (fast_error.value.message, fast_error.value.line) == (exc.message, exc.line)
        return
    fast = load._fast_documents(text, "t.yaml")
    if fast is None:
        return  # the whole text went to the exact reader
    fast, exact = _present(fast), _present(exact)
    assert [json.dumps(d.body, sort_keys=True) for d in fast] == [json.dumps(d.body, sort_keys=True) for d in exact]
    assert [d.line for d in fast] == [d.line for d in exact]
    assert [d.duplicates for d in fast] == [d.duplicates for d in exact]


# Mutated documents: malformed YAML as people mistype it. libyaml refuses
# more than rapidyaml does; the loader must refuse what libyaml refuses.

_BASES = [
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {a: b, c: 'd'}\ndata:\n  k: v\n"
    "  list:\n    - 1\n    - \"two\"\n    - [3, 4]\n  s: |\n    hi\n    there\n",
    "a:\n  b:\n    - c: d\n      e: f\n    - g\n  h: >-\n    folded\n    more\ni: \"q\\\"x\"\nj: 'sq'\n",
    "- a\n- b: c\n  d: [e, {f: g}]\n- ? h\n  : i\n",
    "---\nk: 1\n--- \n# c\nl: [1, 2, {m: n}]\n---\n- o\n- 'p''q'\n- \"r\\ts\"\n",
]
_PIECES = st.sampled_from(list(" \n:-[]{},'\"#|>?.\\0123abc!&*%@`~<+_yN\t\r") + [": ", "- ", "\n  ", "\n- "])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_BASES), st.lists(st.tuples(st.floats(0, 1), st.sampled_from(["insert", "delete", "replace"]),
                                                    _PIECES), min_size=1, max_size=3))
def test_mistyped_documents_are_read_or_refused_as_libyaml_does(base: str, edits: list[tuple[float, str, str]]) -> None:
    text = base
    for where, how, piece in edits:
        at = int(where * len(text))
        text = {"insert": text[:at] + piece + text[at:], "delete": text[:at] + text[at + 1:],
                "replace": text[:at] + piece + text[at + 1:]}[how]
    try:
        exact = _present(load._exact_documents(text, "t.yaml", False))
    except ShipyardError:
        assert load._fast_documents(text, "t.yaml") is None  # the exact reader words the error
        return
    fast = load._fast_documents(text, "t.yaml")
    if fast is not None:
        fast = _present(fast)
        assert [json.dumps(d.body, sort_keys=True) for d in fast] == [json.dumps(d.body, sort_keys=True) for d in exact]
        assert [d.line for d in fast] == [d.line for d in exact]
