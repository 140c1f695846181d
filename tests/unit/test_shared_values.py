"""Equal values of a large text are built once (shipyard.yaml_fast._Sharing),
and that is sound: the values are the same as the unshared reader's, types
kept, and no check changes a body in place, so an object never sees
another's edit through a shared value.

Also here: the lines of a large file's objects come from the file again
once its text is gone (shipyard.load.FileText).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from shipyard import load, yaml_fast
from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.repo import Repository
from shipyard.schemas.installed import read_index
from shipyard.validate import run_checks

pytestmark = pytest.mark.skipif(not yaml_fast.available(), reason="rapidyaml is not installed")

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CORPORA = ("upstream", "checks", "broken", "upstream-broken", "upstream-broken-training", "seldon-webhook-accepts")

WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels: {{tier: web}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      automountServiceAccountToken: {flag}
      containers:
        - name: app
          image: example.com/app-{i}:1.0.0
          args: [--port, "8080"]
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{cpu: 500m, memory: 256Mi}}
"""


def _large(count: int = 200) -> str:
    text = "---\n".join(WORKLOAD.format(i=i, replicas=1 if i % 2 else "true", flag='"1"' if i % 2 else "true")
                        for i in range(count))
    assert len(text) >= load.FAST_MIN_CHARS
    return text


def _bodies(text: str, share: bool) -> list[Any]:
    docs = load._fast_documents(text, "big.yaml", share)
    assert docs is not None
    return [d.body for d in docs]


def _typed(value: Any) -> Any:
    """``value`` with every scalar's type spelt out: ``true`` and ``1`` differ."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return [type(value).__name__, value]


def test_equal_values_are_one_value_and_the_rest_stays_apart() -> None:
    shared = _bodies(_large(), share=True)
    first, third = (body["spec"]["template"]["spec"]["containers"][0] for body in (shared[0], shared[2]))
    assert first["resources"] is third["resources"]
    assert first["args"] is third["args"]
    assert shared[0]["metadata"]["labels"] is shared[1]["metadata"]["labels"]
    assert first is not third  # the images differ
    # replicas true (a bool) and 1 (an int) are never merged, nor "1" and true
    assert shared[0]["spec"]["replicas"] is True and shared[1]["spec"]["replicas"] == 1
    assert type(shared[1]["spec"]["replicas"]) is int
    pods = [body["spec"]["template"]["spec"] for body in shared[:2]]
    assert pods[0]["automountServiceAccountToken"] is True
    assert pods[1]["automountServiceAccountToken"] == "1"


def test_shared_values_equal_the_unshared_reader_exactly() -> None:
    text = _large()
    assert [_typed(b) for b in _bodies(text, share=True)] == [_typed(b) for b in _bodies(text, share=False)]


def test_objects_of_a_large_text_are_read_with_sharing() -> None:
    loaded = load.load_text(_large(), "big.yaml")
    resources = [o.body["spec"]["template"]["spec"]["containers"][0]["resources"] for o in loaded.objects]
    assert len({id(r) for r in resources}) == 1


def _corpus() -> Iterator[str]:
    """Every fixture document the loader reads, one text per file."""
    for corpus in CORPORA:
        for path in sorted((FIXTURES / corpus).rglob("*.yaml")):
            text = path.read_text(encoding="utf-8", errors="replace")
            if "\n..." in text or text.startswith("%") or "\n%" in text:
                continue
            try:
                load.load_text(text, str(path))
            except Exception:  # a fixture of malformed YAML: not a body at all
                continue
            yield text.rstrip("\n") + "\n"


def _walk_ids(value: Any, seen: dict[int, int]) -> None:
    if isinstance(value, (dict, list)):
        seen[id(value)] = seen.get(id(value), 0) + 1
        for child in value.values() if isinstance(value, dict) else value:
            _walk_ids(child, seen)


def test_no_check_changes_a_body_in_place() -> None:
    """Every check, on every fixture corpus read as one large shared text
    (seldon, training, Katib, policies, broken and upstream examples): each
    body is the same before and after, so no object can see another's edit
    through a value they share."""
    text = "---\n".join(_corpus())
    loaded = load.load_text(text, "corpus.yaml")
    objects = loaded.objects
    seen: dict[int, int] = {}
    for obj in objects:
        _walk_ids(obj.body, seen)
    assert sum(1 for count in seen.values() if count > 1) > 100, "the corpus shares too little to prove anything"
    before = [json.dumps(o.body, sort_keys=True, default=repr) for o in objects]
    repo = Repository.find(ROOT)
    index = read_index(ROOT)
    crds = index.objects({o.kind for o in objects}) if index is not None else []
    ctx = CheckContext(targets=[RenderedTarget("corpus.yaml", "file", objects, "1.33.0")], repo=repo, context_crds=crds)
    findings = run_checks(ctx)
    assert findings, "the broken corpora must give findings"
    after = [json.dumps(o.body, sort_keys=True, default=repr) for o in objects]
    changed = [str(o.ref) for o, a, b in zip(objects, before, after) if a != b]
    assert changed == []


def test_lines_of_a_large_file_come_from_the_file_again(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(_large(), encoding="utf-8")
    loaded = load.load_file(path, "big.yaml")
    obj = loaded.objects[3]
    resolver = obj.line_resolver
    assert isinstance(resolver, load._ChunkLines) and isinstance(resolver.text, load.FileText)
    expected = path.read_text().splitlines().index("  name: app-3", 0) + 1
    assert obj.line_of(("metadata", "name")) == expected


def test_a_file_changed_since_it_was_read_gives_document_lines_not_wrong_ones(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(_large(), encoding="utf-8")
    loaded = load.load_file(path, "big.yaml")
    obj = loaded.objects[3]
    path.write_text("# moved\n" * 50 + _large(), encoding="utf-8")
    stamp = os.stat(path)
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    assert obj.line_of(("metadata", "name")) == obj.source.line
