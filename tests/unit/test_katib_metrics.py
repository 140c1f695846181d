"""Katib's metrics collector, as shipyard.training.katib_metrics reads a
trial's output: upstream's own test table answered as upstream answers it,
output that looks like a metric but is not, and the reference model's
trial, run here with the parameters Katib would substitute, reaching Katib
with its objective and additional metrics."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.training import katib_metrics as km

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_CASES = ROOT / "tests" / "fixtures" / "upstream" / "katib-metrics-collector" / "cases.yaml"
EXPERIMENT = ROOT / "pipelines" / "tabular-xgb" / "jobs" / "experiment.yaml"
TRAIN_PY = ROOT / "pipelines" / "tabular-xgb" / "train.py"
IMAGE_TRAIN_PY = "/opt/tabular-xgb/train.py"


def upstream_cases() -> list[Any]:
    cases = yaml.safe_load(UPSTREAM_CASES.read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["name"]) for case in cases]


@pytest.mark.parametrize("case", upstream_cases())
def test_upstream_collector_cases(case: dict[str, Any]) -> None:
    setup = km.CollectorSetup(tuple(case["metrics"]), tuple(case.get("filters", [])), case["format"])
    if case.get("error"):
        with pytest.raises(km.MetricsFormatError):
            km.collect(setup, case["data"])
        return
    got = [[log.timestamp, log.name, log.value] for log in km.collect(setup, case["data"]).logs]
    want = [[km.ZERO_TIME if t == "zero" else t, n, v] for t, n, v in case["expected"]]
    assert got == want


def test_the_default_filter_reads_the_forms_katib_documents() -> None:
    # const.go DefaultFilter's comment: loss=0.3, accuracy=.98, Score=-7.53e-05, Score=1E0, Score=1.23E10
    text = "loss=0.3\naccuracy=.98\nScore=-7.53e-05 Score=-7.53e+05\nScore = 1E0\nScore=1.23E10\n"
    found = km.parse_text(text, ["loss", "accuracy", "Score"])
    assert [(m.name, m.value) for m in found.logs] == [
        ("loss", "0.3"), ("accuracy", ".98"), ("Score", "-7.53e-05"), ("Score", "-7.53e+05"), ("Score", "1E0"),
        ("Score", "1.23E10")]
    assert all(m.numeric for m in found.logs)


def test_lines_that_only_look_like_metrics_are_not_observations() -> None:
    text = "\n".join([
        "epoch 3: validation_logloss 0.21",          # no '=': nothing
        "validation_logloss_std=0.01",               # another name that contains the metric's
        "my-validation_logloss=0.5",                 # likewise
        "training done, validation_logloss is next",  # the name, no value
    ])
    found = km.parse_text(text, ["validation_logloss"])
    assert found.logs == [km.MetricLog("validation_logloss", km.UNAVAILABLE)]
    assert not found.objective_available


def test_broken_output_reaches_katib_as_unusable_values() -> None:
    text = "validation_logloss=nan\nvalidation_accuracy=0,93\n"
    found = km.parse_text(text, ["validation_logloss", "validation_accuracy"])
    # The value group matches the empty string: Katib records "" for nan, "0" for a decimal comma.
    assert [(m.name, m.value, m.numeric) for m in found.logs] == [
        ("validation_logloss", "", False), ("validation_accuracy", "0", True)]


def test_go_space_is_not_python_space() -> None:
    # \s in RE2 is [\t\n\f\r ]: a vertical tab does not separate name and value for Katib.
    assert km.parse_text("loss\x0b=0.5", ["loss"]).logs == [km.MetricLog("loss", km.UNAVAILABLE)]
    assert km.parse_text("loss \t= 0.5", ["loss"]).logs == [km.MetricLog("loss", "0.5")]
    # \w is ASCII: a non-ASCII letter ends the name.
    assert km.parse_text("xöloss=1", ["loss"]).logs == [km.MetricLog("loss", "1")]


def test_a_filter_that_does_not_compile_is_a_clear_error() -> None:
    with pytest.raises(km.MetricsFormatError, match="does not compile"):
        km.parse_text("loss=1", ["loss"], ["(unclosed"])


def test_the_experiment_tells_the_collector_its_metrics() -> None:
    setup = km.for_experiment(yaml.safe_load(EXPERIMENT.read_text(encoding="utf-8")))
    assert setup == km.CollectorSetup(("validation_logloss", "validation_accuracy"), (), km.TEXT, "StdOut")
    with pytest.raises(km.MetricsFormatError, match="objectiveMetricName"):
        km.for_experiment({"spec": {}})
    with pytest.raises(km.MetricsFormatError, match="TensorFlowEvent"):
        km.for_experiment({"spec": {"objective": {"objectiveMetricName": "x"},
                                    "metricsCollectorSpec": {"collector": {"kind": "TensorFlowEvent"}}}})


def substituted_command(experiment: dict[str, Any], values: dict[str, str]) -> list[str]:
    """The primary container's command and args as Katib creates the trial:
    every ${trialParameters.<name>} replaced by the value of the search
    parameter it references (the substitution is made on the template's text)."""
    template = experiment["spec"]["trialTemplate"]
    containers = template["trialSpec"]["spec"]["xgbReplicaSpecs"]["Master"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == template["primaryContainerName"]]
    text = json.dumps([*container["command"], *container["args"]])
    for parameter in template["trialParameters"]:
        text = text.replace("${trialParameters.%s}" % parameter["name"], values[parameter["reference"]])
    assert "${" not in text
    return json.loads(text)


@pytest.mark.sidecar_env
def test_the_reference_trial_reports_its_metrics_to_katib(tmp_path: Path) -> None:
    from shipyard import envs

    python = envs.ensure("tabular-xgb", envs.toolkit_root()).env.python
    experiment = yaml.safe_load(EXPERIMENT.read_text(encoding="utf-8"))
    # One point of the search space, written as Katib's suggestions write them (strings).
    command = substituted_command(experiment, {"max-depth": "5", "eta": "0.0725", "n-estimators": "150"})
    local = {"python": str(python), IMAGE_TRAIN_PY: str(TRAIN_PY)}
    argv = [local.get(part, part) for part in command]
    # The collector reads stdout and stderr, redirected into one file (1>file 2>&1).
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    setup = km.for_experiment(experiment)
    observed = km.collect(setup, done.stdout)
    assert observed.objective_available, done.stdout
    for name in setup.metrics:
        values = observed.values(name)
        assert len(values) == 1, (name, done.stdout)
        assert km.MetricLog(name, values[0]).numeric
    assert 0 < float(observed.values("validation_logloss")[0]) < 0.7
    assert 0.5 < float(observed.values("validation_accuracy")[0]) <= 1
