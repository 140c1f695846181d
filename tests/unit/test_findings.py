"""The reporters: every format names the check, the object, the file and line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from shipyard.findings import Finding, dedupe, exit_code, format_github, format_json, format_junit, format_text
from shipyard.objects import ObjectRef

FINDING = Finding(
    check="SY101",
    message="spec.replicas: 'two' is not of type 'integer'",
    file="models/iris/deploy/seldondeployment.yaml",
    line=12,
    hint="write a number",
    object=ObjectRef("machinelearning.seldon.io/v1", "SeldonDeployment", "models", "iris"),
    target="overlays/dev",
)


def test_text_names_check_object_file_line_and_fix() -> None:
    text = format_text([FINDING])
    assert "models/iris/deploy/seldondeployment.yaml:12: error SY101" in text
    assert "SeldonDeployment models/iris" in text
    assert "fix: write a number" in text
    assert "1 error(s), 0 warning(s)" in text


def test_json_round_trips_every_field() -> None:
    data = json.loads(format_json([FINDING]))["findings"][0]
    assert data["check"] == "SY101" and data["line"] == 12
    assert data["object"] == {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment", "namespace": "models", "name": "iris"}


def test_junit_is_valid_xml_with_one_failure_per_finding() -> None:
    root = ET.fromstring(format_junit([FINDING, Finding("SY403", "namespace 'x' <missing>", "a.yaml", 3)]))
    failures = root.findall(".//failure")
    assert len(failures) == 2
    cases = {c.get("classname"): c for c in root.iter("testcase")}
    assert cases["SY101"].get("line") == "12"
    assert "<missing>" in failures[1].get("message")


def test_junit_clean_run_has_a_passing_case() -> None:
    root = ET.fromstring(format_junit([]))
    assert root.findall(".//testcase") and not root.findall(".//failure")


def test_github_annotation_escapes_newlines_and_properties() -> None:
    line = format_github([FINDING]).strip()
    assert line.startswith("::error file=models/iris/deploy/seldondeployment.yaml,line=12,title=SY101 ")
    assert "%0Afix: write a number" in line
    assert "\n" not in line


def test_dedupe_keeps_one_per_mistake_and_warnings_do_not_fail() -> None:
    again = Finding(**{**FINDING.__dict__, "target": "clusters/staging/flux"}) if hasattr(FINDING, "__dict__") else None
    twice = [FINDING, Finding(FINDING.check, FINDING.message, FINDING.file, FINDING.line, FINDING.hint, FINDING.object, "clusters/x/flux")]
    assert len(dedupe(twice)) == 1
    assert exit_code([Finding("SY301", "m", "f", severity="warning")]) == 0
    assert exit_code([FINDING]) == 1
    del again
