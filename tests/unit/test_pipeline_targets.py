"""A whole-repository `shipyard validate` checks the manifests of every
pipeline (pipelines/<p>/deploy and pipelines/<p>/jobs): no overlay lists
them, yet Kubeflow is given the Pipeline objects and the pipeline's steps
create the jobs, so a typo there must fail the run that has no PATH."""

from __future__ import annotations

import shutil
from pathlib import Path

from shipyard.repo import Repository
from shipyard.targets import all_targets
from shipyard.validate import validate

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "fixtures" / "upstream-broken-training" / "sy101-pytorchjob-restartpolicy-typo.yaml"


def test_this_repository_checks_its_pipelines_manifests() -> None:
    paths = {spec.path for spec in all_targets(Repository.load(ROOT))}
    assert {"pipelines/iris/deploy", "pipelines/tabular-xgb/deploy", "pipelines/tabular-xgb/jobs"} <= paths


def test_a_broken_job_of_a_pipeline_fails_the_whole_repository_run(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(
        'repository:\n  url: https://github.com/example/fork.git\ndefaults:\n  kubernetesVersion: "1.33"\n',
        encoding="utf-8")
    jobs = tmp_path / "pipelines" / "churn" / "jobs"
    jobs.mkdir(parents=True)
    shutil.copy(BROKEN, jobs / "pytorchjob.yaml")
    report = validate(Repository.load(tmp_path), use_cache=False)
    found = {(f.check, f.file) for f in report.findings}
    assert ("SY101", "pipelines/churn/jobs/pytorchjob.yaml") in found, report.findings
