"""Upstream examples of the Training Operator (kubeflow/trainer v1.9.4) and
Katib (v0.19.0) beyond the shared corpus: every one validates with no
schema, admission or cross-reference finding, and broken copies report
exactly their one defect.

tests/fixtures/upstream/kubeflow-training-examples/ holds the rest of both
projects' examples/ folders, byte for byte (README.md lists each blob; the
files the shared corpus already holds, in upstream/kubeflow-trainer and
upstream/katib, are not repeated). Three upstream examples are left out
because the rules refuse them, rightly; two of them are kept, unchanged but
for the first line, as broken copies in tests/fixtures/upstream-broken-training/
(see its README), with copies of corpus files given one defect each.
Each file is validated on its own, as `shipyard validate FILE` does.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Callable, Iterator

import pytest

from shipyard.errors import ShipyardError
from shipyard.findings import Finding
from shipyard.repo import Repository
from shipyard.targets import open_renderer
from shipyard.validate import validate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "fixtures" / "upstream" / "kubeflow-training-examples"
BROKEN = ROOT / "tests" / "fixtures" / "upstream-broken-training"
ASSERTED = ("SY1", "SY2", "SY4")
EXPECT = re.compile(r"#\s*expect:\s*(SY\d{3})\s+line\s+(\d+)\s*$")
BLOB_ROW = re.compile(r"^\| `([^`]+)` \| `([0-9a-f]{40})` \|$")

Check = Callable[[Path], list[Finding]]


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.fixture(scope="module")
def check(mirror_dir: Path) -> Iterator[Check]:
    repo = Repository.load(ROOT)
    with open_renderer(repo) as renderer:

        def run(path: Path) -> list[Finding]:
            try:
                report = validate(repo, [rel(path)], cwd=ROOT, renderer=renderer)
            except ShipyardError as exc:
                pytest.fail(f"validate stopped ({exc.check}): {exc}")
            return [f for f in [*report.findings, *report.waived] if f.file == rel(path)]

        yield run


def describe(findings: list[Finding]) -> str:
    return "\n".join(f"{f.file}:{f.line}: {f.check} ({f.severity}) {f.message}" for f in findings)


def example_files() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.yaml"))


def test_the_examples_are_many_and_of_every_kind() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in example_files())
    assert len(example_files()) >= 40
    for kind in ("Experiment", "PyTorchJob", "XGBoostJob", "TFJob", "MPIJob", "PaddleJob", "JAXJob"):
        assert re.search(rf"^\s*kind: ['\"]?{kind}\b", text, re.M), kind


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.relative_to(EXAMPLES).as_posix())
def test_an_upstream_example_raises_nothing(path: Path, check: Check) -> None:
    found = [f for f in check(path) if f.check.startswith(ASSERTED)]
    assert found == [], describe(found)


def test_every_example_is_listed_and_byte_for_byte_upstream() -> None:
    listed: dict[Path, str] = {}
    for readme in (EXAMPLES / "trainer" / "README.md", EXAMPLES / "katib" / "README.md"):
        for line in readme.read_text(encoding="utf-8").splitlines():
            match = BLOB_ROW.match(line)
            if match:
                listed[readme.parent / match.group(1)] = match.group(2)
    assert sorted(listed) == example_files()
    blob = lambda data: hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: E731
    assert [rel(p) for p in example_files() if blob(p.read_bytes()) != listed[p]] == []
    for folder in ("trainer", "katib"):
        assert (EXAMPLES / folder / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")


def broken_files() -> list[Path]:
    return sorted(BROKEN.glob("*.yaml"))


@pytest.mark.parametrize("path", broken_files(), ids=lambda p: p.name)
def test_a_broken_copy_reports_its_one_defect_at_its_line(path: Path, check: Check) -> None:
    match = EXPECT.match(path.read_text(encoding="utf-8").split("\n", 1)[0])
    assert match, f"{rel(path)}: the first line must be '# expect: SYnnn line N'"
    want = (match.group(1), int(match.group(2)))
    findings = check(path)
    if want[0].startswith("SY3"):
        # a policy: the API server and the webhooks accept the file; the policy reports its line
        assert [f for f in findings if f.check.startswith(ASSERTED)] == [], describe(findings)
        assert want in [(f.check, f.line) for f in findings if f.check == want[0]], describe(findings)
        return
    errors = [f for f in findings if f.check.startswith(ASSERTED) and f.severity == "error"]
    assert [(f.check, f.line) for f in errors] == [want], describe(errors)
