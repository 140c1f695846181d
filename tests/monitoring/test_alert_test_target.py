"""`shipyard validate` of a promtool unit-test file named on the command line.

An alert test (models/<m>/monitoring/tests/alerts.yaml: rule_files and
tests) is not a Kubernetes object; validating it validates the
PrometheusRule manifests its rule_files name (promtool's check included),
instead of reporting the test file as SY104 "not a Kubernetes object". A
test file whose rule_files name no file is a clear error, and a YAML file
that only looks similar is still judged as a manifest.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shipyard.monitoring.promtool import Promtool
from shipyard.repo import Repository
from shipyard.targets import targets_for_paths

ROOT = Path(__file__).resolve().parents[2]
SHIPYARD = str(ROOT / ".venv" / "bin" / "shipyard")


def _validate(*paths: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SHIPYARD, "validate", *paths], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_an_alert_test_stands_for_the_rules_it_tests() -> None:
    repo = Repository.load(ROOT)
    (spec,) = targets_for_paths(repo, ["models/iris/monitoring/tests/alerts.yaml"], cwd=ROOT)
    assert spec.path == "models/iris/monitoring/prometheusrule.yaml" and spec.kind == "file"
    # named together with its rules, the rules are one target
    assert targets_for_paths(repo, ["models/iris/monitoring/tests/alerts.yaml",
                                    "models/iris/monitoring/prometheusrule.yaml"], cwd=ROOT) == [spec]


def test_validate_of_an_alert_test_reports_no_bogus_object(promtool: Promtool) -> None:
    done = _validate("models/iris/monitoring/tests/alerts.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SY104" not in done.stdout and "0 error(s), 0 warning(s)" in done.stdout
    assert "checked 1 objects in 1 target(s)" in done.stderr


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(ROOT / "shipyard.yaml", copy / "shipyard.yaml")
    shutil.copytree(ROOT / "models" / "iris" / "monitoring", copy / "models" / "iris" / "monitoring")
    return copy


def test_rule_files_that_name_no_file_are_a_clear_error(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    test = copy / "models" / "iris" / "monitoring" / "tests" / "alerts.yaml"
    test.write_text(test.read_text().replace("- ../prometheusrule.yaml", "- ../rules.yaml"))
    done = _validate("models/iris/monitoring/tests/alerts.yaml", cwd=copy)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "models/iris/monitoring/tests/alerts.yaml" in done.stderr
    assert "rule_files names ../rules.yaml, which is no file of the repository" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("text", ["rule_files: [a.yaml]\n", "apiVersion: v1\nkind: ConfigMap\nrule_files: []\ntests: []\n"])
def test_other_yaml_is_still_judged_as_a_manifest(tmp_path: Path, text: str) -> None:
    copy = _copy(tmp_path)
    (copy / "other.yaml").write_text(text)
    repo = Repository.load(copy)
    (spec,) = targets_for_paths(repo, ["other.yaml"], cwd=copy)
    assert spec.path == "other.yaml"
