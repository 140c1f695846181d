"""SY2xx raise nothing on seldon-core 1.17.1's own examples.

The checks imitate the admission webhook; an imitation that refuses what
the real webhook accepts blocks good pull requests. The examples are
upstream's, byte for byte, each accepted by the real webhook: the ones in
tests/fixtures/seldon-webhook-accepts/ (its README names the tag, paths and
blobs, and why some upstream examples are left out) and the seldon-core
files of the shared upstream corpus (tests/fixtures/upstream/seldon-core/).
Every SY2xx check must be silent on each. The webhook sees every one of
them (none carries the controller-id label), so silence is a verdict, not
a skip.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from shipyard.checks.context import CheckContext
from shipyard.checks.seldon import webhook_sees
from shipyard.load import load_file
from shipyard.render.target import RenderedTarget

import shipyard_check_cases as cases  # registered by tests/conftest.py

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ACCEPTED = FIXTURES / "seldon-webhook-accepts"
CORPUS = FIXTURES / "upstream" / "seldon-core"
BLOB_ROW = re.compile(r"^\| `([^`]+)` \| `([0-9a-f]{40})` \|$")


def _examples() -> list[Path]:
    return sorted([*ACCEPTED.rglob("*.yaml"), *CORPUS.rglob("*.yaml")])


def _id(path: Path) -> str:
    return path.relative_to(FIXTURES).as_posix()


def _git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_the_examples_are_upstream_byte_for_byte_and_licensed() -> None:
    mine = sorted(ACCEPTED.rglob("*.yaml"))
    assert 10 <= len(mine) <= 30
    assert (ACCEPTED / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
    readme = (ACCEPTED / "README.md").read_text(encoding="utf-8")
    assert "`v1.17.1`" in readme
    listed = {ACCEPTED / m.group(1): m.group(2) for m in map(BLOB_ROW.match, readme.splitlines()) if m}
    assert sorted(listed) == mine, "README.md lists every example by its upstream path"
    assert [p for p in mine if _git_blob(p.read_bytes()) != listed[p]] == [], "not the upstream blob any more"
    # Not copied twice: the shared corpus's seldon-core files are read from there.
    shared = {p.relative_to(CORPUS) for p in CORPUS.rglob("*.yaml")}
    assert not shared & {p.relative_to(ACCEPTED) for p in mine}


@pytest.mark.parametrize("path", _examples(), ids=_id)
def test_seldon_admission_checks_accept_upstream_example(path: Path) -> None:
    rel = _id(path)
    loaded = load_file(path, rel, target=f"upstream/{rel}")
    assert not loaded.findings, f"{rel} does not load cleanly: {loaded.findings}"
    target = RenderedTarget(f"upstream/{rel}", "file", loaded.objects, "1.33.0")
    ctx = CheckContext(targets=[target])
    sdeps = [o for o in target.objects if o.kind == "SeldonDeployment"]
    assert sdeps, f"{rel} holds no SeldonDeployment"
    assert all(webhook_sees(ctx, target, o) for o in sdeps)
    findings = [f for check_id in cases.runnable("SY2") for f in cases.run(check_id, ctx)]
    assert findings == []
