"""Pod policies (SY3xx) reach the pods a Katib Experiment's trials run:
spec.trialTemplate.trialSpec is a whole job, and its replica templates are
pods like any other, parallelTrialCount of them at once."""

from __future__ import annotations

import pytest

import shipyard_check_cases as cases  # registered by tests/conftest.py
from shipyard.checks.policies import pod_specs

CASE = cases.FIXTURES / "training" / "trial-policies"


@pytest.mark.parametrize("check_id", ["SY301", "SY302", "SY303", "SY304"])
def test_a_trial_template_pod_is_judged_at_its_own_lines(check_id: str) -> None:
    want = cases.expected(CASE, check_id)
    assert want
    assert cases.observed(cases.run(check_id, cases.load_case(CASE)), check_id) == want


def test_trial_pods_count_parallel_trials() -> None:
    ctx = cases.load_case(CASE)
    experiment = next(o for t in ctx.targets for o in t.objects if o.kind == "Experiment")
    pods = list(pod_specs(experiment))
    assert [p.path for p in pods] == [
        ("spec", "trialTemplate", "trialSpec", "spec", "xgbReplicaSpecs", "Master", "template", "spec")]
    assert pods[0].label == "trial XGBoostJob Master replicas"
    assert (pods[0].replicas.low, pods[0].replicas.high) == (3, 3)
    assert pods[0].replicas.path == ("spec", "parallelTrialCount")


def test_the_reference_experiment_trials_pass_the_pod_policies() -> None:
    from shipyard.load import load_file

    root = cases.FIXTURES.parents[2]
    loaded = load_file(root / "pipelines" / "tabular-xgb" / "jobs" / "experiment.yaml",
                       "pipelines/tabular-xgb/jobs/experiment.yaml")
    experiment = loaded.objects[0]
    pods = list(pod_specs(experiment))
    assert len(pods) == 1 and pods[0].replicas.high == 3
    names = [c["name"] for _, c in pods[0].containers()]
    assert names == ["xgboost"]
