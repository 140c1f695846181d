"""The promotion workflow: valid against the GitHub workflow schema that
check-jsonschema ships, and calling `shipyard promote` with options and
output fields that exist."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shipyard.cli import build_parser
from shipyard.lifecycle.plan import Outcome, Plan

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "promote.yml"
CHECK_JSONSCHEMA = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")


def test_workflow_matches_the_github_schema() -> None:
    assert CHECK_JSONSCHEMA, "check-jsonschema is not installed (pip install -e 'tools[test]')"
    done = subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: {workflow_dispatch: {inputs: {model: {type: text}}}}\njobs: {}\n")
    done = subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", str(broken)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1


@pytest.fixture(scope="module")
def promote_workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_promote_workflow_inputs_and_permissions(promote_workflow: dict) -> None:
    dispatch = promote_workflow[True]["workflow_dispatch"]  # YAML 1.1 reads the key `on` as true
    assert {"model", "version", "environment"} <= set(dispatch["inputs"])
    assert dispatch["inputs"]["environment"]["options"] == ["dev", "staging", "production"]
    assert promote_workflow["permissions"] == {}  # nothing by default: the job says what it needs
    (job,) = promote_workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}


def test_actions_are_pinned_by_commit(promote_workflow: dict) -> None:
    uses = [step["uses"] for job in promote_workflow["jobs"].values() for step in job["steps"] if "uses" in step]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref


def _promote_options() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {opt for action in sub.choices["promote"]._actions for opt in action.option_strings}


def test_promote_step_uses_real_options_and_fields(promote_workflow: dict) -> None:
    steps = promote_workflow["jobs"]["promote"]["steps"]
    script = next(s["run"] for s in steps if s.get("id") == "promote")
    used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", script))
    assert used and used <= _promote_options(), used - _promote_options()
    fields = set(re.findall(r"jq -r '\.(\w+)", script))
    assert fields and fields <= set(Outcome(Plan("promote", "m", "t", "b", {}), [], "t", "").as_dict())
    # inputs reach the shell through the environment, never spliced into the script
    assert "${{" not in script
