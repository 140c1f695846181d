"""Every model's alerts have promtool unit tests, and they pass.

The tests live beside the alerts (models/<m>/monitoring/tests/*.yaml, which
`shipyard new model` writes) and are run here with the real `promtool test
rules` (shipyard.monitoring.promtool.run_alert_test). Beyond passing, each
model's tests must cover what the alerts are for: the error rate fires on
REST 5xx and stays quiet on healthy gRPC traffic and at 1 % errors, the
latency alert fires on a slow histogram and not on a fast one, and every
summary a test expects names the predictor's version (the bug this guards
against printed "()"). Mutation tests show the iris tests would catch the
two bugs they were written for.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.monitoring.promtool import Promtool, prometheus_rules, run_alert_test
from shipyard.repo import Repository
from shipyard.targets import build_folder

ROOT = Path(__file__).resolve().parents[2]
MONITORING = sorted(p for p in (ROOT / "models").glob("*/monitoring") if (p / "prometheusrule.yaml").is_file())
TESTS = sorted(t for folder in MONITORING for t in sorted((folder / "tests").glob("*.yaml")))
SUCCESS_CODES = re.compile(r"^(2\d\d|OK)$")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _alerts(folder: Path) -> list[dict[str, Any]]:
    return [rule for groups in prometheus_rules(folder / "prometheusrule.yaml") for group in groups
            for rule in group["rules"] if "alert" in rule]


def _cases(folder: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(test group, alert_rule_test entry) of every alert test of a model."""
    found = []
    for path in sorted((folder / "tests").glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                found.append((group, case))
    return found


def _per_minute(values: str) -> float:
    """The increase per sample of promtool's 'a+bxn' notation."""
    match = re.fullmatch(r"\s*-?[\d.]+\+([\d.]+)x\d+\s*", values)
    assert match, f"use the a+bxn notation in alert tests: {values!r}"
    return float(match.group(1))


def _error_ratio(group: dict[str, Any]) -> float:
    total = errors = 0.0
    for item in group["input_series"]:
        code = re.search(r'code="([^"]*)"', item["series"])
        if code is None or "_count{" not in item["series"]:
            continue
        rate = _per_minute(item["values"])
        total += rate
        errors += 0 if SUCCESS_CODES.match(code.group(1)) else rate
    return errors / total if total else 0.0


def _codes(group: dict[str, Any]) -> set[str]:
    return {m.group(1) for item in group["input_series"] for m in [re.search(r'code="([^"]*)"', item["series"])] if m}


def test_every_model_has_alert_tests() -> None:
    assert MONITORING, "no models/*/monitoring/prometheusrule.yaml found"
    for folder in MONITORING:
        tests = sorted((folder / "tests").glob("*.yaml"))
        assert tests, f"{_rel(folder)} has alerts and no tests/*.yaml of promtool unit tests"
        cases = _cases(folder)
        for alert in _alerts(folder):
            name = alert["alert"]
            mine = [(g, c) for g, c in cases if c["alertname"] == name]
            assert any(c.get("exp_alerts") for _, c in mine), f"{name}: no test where it fires"
            assert any(not c.get("exp_alerts") for _, c in mine), f"{name}: no test where it stays quiet"


@pytest.mark.parametrize("folder", MONITORING, ids=lambda p: p.parent.name)
def test_the_error_rate_and_latency_cases_are_covered(folder: Path) -> None:
    cases = _cases(folder)
    errors = [(g, c) for g, c in cases if c["alertname"].endswith("HighErrorRate")]
    latency = [(g, c) for g, c in cases if c["alertname"].endswith("HighLatency")]
    assert any(c["exp_alerts"] and any(re.fullmatch(r"5\d\d", code) for code in _codes(g)) for g, c in errors), \
        "no test of the error rate firing on REST 5xx"
    assert any(not c["exp_alerts"] and _codes(g) == {"OK"} for g, c in errors), \
        "no test of healthy gRPC traffic (code OK only) keeping the error rate quiet"
    assert any(not c["exp_alerts"] and 0 < _error_ratio(g) <= 0.02 for g, c in errors), \
        "no test of the error rate staying quiet at about 1 % errors"
    assert any(c["exp_alerts"] and any("_bucket{" in s["series"] for s in g["input_series"]) for g, c in latency), \
        "no test of the latency alert firing on a slow histogram"
    assert any(not c["exp_alerts"] for _, c in latency), "no test of the latency alert staying quiet"


@pytest.mark.parametrize("folder", MONITORING, ids=lambda p: p.parent.name)
def test_every_expected_summary_names_the_version(folder: Path) -> None:
    """An alert about a predictor names it and its version; only an alert on
    absent() series (nothing to name) has no predictor_version."""
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load((folder / "prometheusrule.yaml").read_text())["spec"]["groups"]
             for r in g["rules"] if "alert" in r}
    expected = [(c["alertname"], a) for _, c in _cases(folder) for a in c.get("exp_alerts") or []]
    assert expected
    for name, alert in expected:
        summary = alert["exp_annotations"]["summary"]
        assert "()" not in summary, summary
        version = alert["exp_labels"].get("predictor_version")
        if version is None:
            assert rules[name].strip().startswith("absent("), f"{name}: no predictor_version in {alert['exp_labels']}"
            continue
        assert version and f"({version})" in summary, summary


@pytest.mark.parametrize("test_file", TESTS, ids=_rel)
def test_alert_tests_pass(test_file: Path, promtool: Promtool) -> None:
    proc = run_alert_test(test_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def _mutated(tmp_path: Path, model: str, old: str, new: str) -> Path:
    """The model's alert tests beside a copy of its rules with ``old`` replaced."""
    folder = ROOT / "models" / model / "monitoring"
    rules = (folder / "prometheusrule.yaml").read_text()
    assert old in rules
    (tmp_path / "tests").mkdir()
    (tmp_path / "prometheusrule.yaml").write_text(rules.replace(old, new))
    for test in (folder / "tests").glob("*.yaml"):
        shutil.copy(test, tmp_path / "tests" / test.name)
    return tmp_path / "tests" / "alerts.yaml"


def test_the_tests_catch_an_error_rate_that_counts_grpc_ok(tmp_path: Path, promtool: Promtool) -> None:
    proc = run_alert_test(_mutated(tmp_path, "iris", 'code!~"2..|OK"', 'code!~"2.."'))
    assert proc.returncode != 0
    assert "healthy gRPC traffic (code OK) does not fire" in proc.stderr


def test_the_tests_catch_a_summary_without_the_version(tmp_path: Path, promtool: Promtool) -> None:
    proc = run_alert_test(_mutated(tmp_path, "iris", "sum by (predictor_name, predictor_version)",
                                   "sum by (predictor_name)"))
    assert proc.returncode != 0
    assert "iris default () fails more than 5% of requests" in proc.stderr


@pytest.mark.parametrize("env", ["staging", "production"])
def test_served_predictors_carry_the_version_where_the_executor_reads_it(env: str, mirror_dir: Path) -> None:
    """What the alerts' predictor_version will say: the rendered pin's
    predictors have the version as annotation (executor) and label (pods)."""
    repo = Repository.load(ROOT)
    objects = build_folder(repo, ROOT / "overlays" / env / "models", use_cache=False)
    sdeps = [o for o in objects if o["kind"] == "SeldonDeployment"]
    assert sdeps
    for sdep in sdeps:
        pinned = sdep["metadata"]["labels"]["shipyard.dev/model-version"]
        stable = sdep["spec"]["predictors"][0]
        assert stable["annotations"]["version"] == stable["labels"]["version"] == pinned
        for predictor in sdep["spec"]["predictors"]:
            assert predictor["annotations"]["version"] == predictor["labels"]["version"]
