"""Real upstream manifests raise nothing; their broken copies raise exactly
what they announce.

tests/fixtures/upstream/ holds files published by upstream projects (Flux,
prometheus-operator, kube-prometheus, seldon-core, the Kubeflow Training
Operator and Katib, kubernetes/examples, ...) that the API server accepts.
Each is validated on its own, as `shipyard validate FILE` does: against the
schemas of the default Kubernetes version, the CRDs the repository's entry
points render and the pinned ones, with its folder as the context of the
references a GitOps object makes. The checks that stand for the API server
(SY1xx), seldon-core's admission webhook (SY2xx) and the GitOps wiring
(SY4xx) must report nothing, warnings included; a finding there is a false
positive. Policies (SY3xx) are this repository's opinions and are not
asserted. Known false positives are marked xfail(strict=True) with what is
wrong, so the test fails once they are fixed and the mark must go.

tests/fixtures/upstream/crd-not-available-offline/ holds custom resources
whose CRD nothing here provides: each object must be one unknown kind
(SY105), and nothing else.

tests/fixtures/upstream-broken/ holds copies of corpus files with one
deliberate defect each; the first line says what must be reported, e.g.
``# expect: SY101 line 11``, and the errors of SY1xx, SY2xx and SY4xx in the
file must be exactly that one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from shipyard.errors import ShipyardError
from shipyard.findings import Finding
from shipyard.load import load_file
from shipyard.repo import Repository
from shipyard.targets import open_renderer
from shipyard.validate import validate

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
UPSTREAM = FIXTURES / "upstream"
NO_CRD = UPSTREAM / "crd-not-available-offline"
BROKEN = FIXTURES / "upstream-broken"

# The corpus's projects: one folder each below tests/fixtures/upstream/ (and
# below crd-not-available-offline/), with the project's LICENSE and a README
# listing every file with its git blob. Other folders there hold other
# tests' upstream material.
PROJECTS = (
    "argo-workflows", "descheduler", "flux-helm-controller", "flux-kustomize-controller", "flux-source-controller",
    "flux2-kustomize-helm-example", "katib", "kube-prometheus", "kubeflow-trainer", "kubernetes-examples",
    "prometheus-operator", "seldon-core",
)
NO_CRD_PROJECTS = ("flux2-kustomize-helm-example", "prometheus-operator")

SCHEMA = ("SY1", "SY2")
CROSSREF = ("SY4",)
ASSERTED = SCHEMA + CROSSREF


# Known false positives: corpus file (relative to tests/fixtures/upstream) ->
# {family: what is wrong}. Families: "schema" (SY1xx, SY2xx), "crossref" (SY4xx).
KNOWN: dict[str, dict[str, str]] = {}

EXPECT = re.compile(r"#\s*expect:\s*(SY\d{3})\s+line\s+(\d+)\s*$")
BLOB_ROW = re.compile(r"^\| `([^`]+)` \| `([0-9a-f]{40})` \|$")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def corpus_files() -> list[Path]:
    return sorted(p for project in PROJECTS for p in (UPSTREAM / project).rglob("*.yaml"))


def no_crd_files() -> list[Path]:
    return sorted(p for project in NO_CRD_PROJECTS for p in (NO_CRD / project).rglob("*.yaml"))


def broken_files() -> list[Path]:
    return sorted(BROKEN.glob("*.yaml"))


def corpus_params(family: str) -> list[object]:
    params: list[object] = []
    for path in corpus_files():
        name = path.relative_to(UPSTREAM).as_posix()
        reason = KNOWN.get(name, {}).get(family)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(path, id=name, marks=marks))
    return params


def expectation(path: Path) -> tuple[str, int]:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    match = EXPECT.match(first)
    assert match, f"{rel(path)}: the first line must be '# expect: SYnnn line N', not {first!r}"
    return match.group(1), int(match.group(2))


def broken_params() -> list[object]:
    return [pytest.param(path, id=path.name) for path in broken_files()]


@dataclass
class Outcome:
    """What validating one file gave: its findings (kept and waived), or
    the error that stopped the run."""

    findings: list[Finding] = field(default_factory=list)
    error: ShipyardError | None = None

    def of(self, families: tuple[str, ...], *, under: Path = FIXTURES) -> list[Finding]:
        """Findings of ``families`` about files below ``under`` (a file's
        run may report on a sibling it reads; findings about the
        repository itself, such as a cluster.yaml, are not the corpus's)."""
        prefix = rel(under) + "/"
        return [f for f in self.findings if f.check.startswith(families) and f.file.startswith(prefix)]


Checker = Callable[[Path], Outcome]


@pytest.fixture(scope="module")
def checker(mirror_dir: Path) -> Iterator[Checker]:
    """Validate one file, as `shipyard validate FILE` does; every run shares
    one renderer (the entry points are rendered once, then read from its memo
    and the render cache)."""
    repo = Repository.load(ROOT)
    outcomes: dict[Path, Outcome] = {}
    with open_renderer(repo) as renderer:

        def check(path: Path) -> Outcome:
            if path not in outcomes:
                try:
                    report = validate(repo, [rel(path)], cwd=ROOT, renderer=renderer)
                except ShipyardError as exc:
                    outcomes[path] = Outcome(error=exc)
                else:
                    outcomes[path] = Outcome(findings=[*report.findings, *report.waived])
            return outcomes[path]

        yield check


def describe(findings: list[Finding]) -> str:
    return "\n".join(f"{f.file}:{f.line}: {f.check} ({f.severity}) {f.message}" for f in findings)


def checked(outcome: Outcome) -> Outcome:
    if outcome.error is not None:
        pytest.fail(f"validate stopped ({outcome.error.check}): {outcome.error}")
    return outcome


# -- the corpus ------------------------------------------------------------


def test_the_corpus_is_large_and_diverse() -> None:
    objects = [o for path in corpus_files() for o in load_file(path, rel(path)).objects]
    assert 60 <= len(objects) <= 150
    assert len({(o.api_version.split("/")[0], o.kind) for o in objects}) >= 40


@pytest.mark.parametrize("path", corpus_params("schema"))
def test_schema_and_admission_checks_accept_an_upstream_file(path: Path, checker: Checker) -> None:
    found = checked(checker(path)).of(SCHEMA)
    assert found == [], describe(found)


@pytest.mark.parametrize("path", corpus_params("crossref"))
def test_cross_reference_checks_accept_an_upstream_file(path: Path, checker: Checker) -> None:
    found = checked(checker(path)).of(CROSSREF)
    assert found == [], describe(found)


@pytest.mark.parametrize("path", no_crd_files(), ids=lambda p: p.relative_to(NO_CRD).as_posix())
def test_a_kind_without_its_crd_is_one_unknown_kind(path: Path, checker: Checker) -> None:
    outcome = checked(checker(path))
    want = sorted(("SY105", o.line_of()) for o in load_file(path, rel(path)).objects)
    found = outcome.of(ASSERTED)
    assert sorted((f.check, f.line) for f in found) == want, describe(found)


def git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def listed_blobs() -> dict[Path, str]:
    """File -> git blob id, from the tables of the projects' READMEs and of
    crd-not-available-offline/README.md (a row is '| `path` | `blob` |',
    the path relative to the README's folder)."""
    listed: dict[Path, str] = {}
    for readme in [*(UPSTREAM / project / "README.md" for project in PROJECTS), NO_CRD / "README.md"]:
        for line in readme.read_text(encoding="utf-8").splitlines():
            match = BLOB_ROW.match(line)
            if match:
                listed[readme.parent / match.group(1)] = match.group(2)
    return listed


def test_every_file_is_listed_and_byte_for_byte_upstream() -> None:
    listed = listed_blobs()
    files = [*corpus_files(), *no_crd_files()]
    assert sorted(listed) == sorted(files), "every corpus file is listed in its README, and every listed file exists"
    changed = [rel(p) for p in files if git_blob(p.read_bytes()) != listed[p]]
    assert changed == [], "not the upstream blob any more"


def test_every_project_folder_has_its_license() -> None:
    folders = [*(UPSTREAM / p for p in PROJECTS), *(NO_CRD / p for p in NO_CRD_PROJECTS)]
    missing = [rel(f) for f in folders if not (f / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")]
    assert missing == []


# -- the broken copies -----------------------------------------------------


def test_the_broken_copies_cover_the_defects_asked_for() -> None:
    ids = {expectation(path)[0] for path in broken_files()}
    assert 10 <= len(broken_files()) <= 20
    assert ids >= {"SY101", "SY102", "SY103", "SY105", "SY107", "SY108", "SY109"}


@pytest.mark.parametrize("path", broken_params())
def test_a_broken_copy_reports_its_one_defect_at_its_line(path: Path, checker: Checker) -> None:
    want = expectation(path)
    errors = [f for f in checked(checker(path)).of(ASSERTED) if f.file == rel(path) and f.severity == "error"]
    assert [(f.check, f.line) for f in errors] == [want], describe(errors)
