"""Bad input and a broken environment: one clear error, exit 2, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.render import binaries

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "repos" / "engines"


@pytest.fixture()
def repo(tmp_path: Path, mirror_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    monkeypatch.chdir(root)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def test_missing_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "validate", "nope.yaml")
    assert code == 2 and "nope.yaml: no such file or folder" in err


def test_malformed_yaml_names_file_and_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = repo / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [a, b\n")
    code, err = run(capsys, "validate", "bad.yaml")
    assert code == 2
    assert "bad.yaml:" in err


def test_unknown_chart_version(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    release = repo / "base/seldon-core/helmrelease.yaml"
    release.write_text(release.read_text().replace("version: 1.17.1", "version: 0.0.1"))
    code, err = run(capsys, "validate", "--no-cache")
    assert code == 2
    assert "seldon-core-operator 0.0.1" in err and "base/seldon-core/helmrelease.yaml" in err


def test_mirror_unreachable(repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHIPYARD_MIRROR", str(tmp_path / "no-mirror"))
    code, err = run(capsys, "validate", "--no-cache")
    assert code == 2 and "SY902" in err and "no-mirror" in err


def test_helm_missing(repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binaries.find_binaries.cache_clear()
    monkeypatch.setattr(binaries, "_candidates", lambda name: [] if name == "helm" else [shutil.which("kubectl") or ""])
    try:
        code, err = run(capsys, "validate", "--no-cache")
    finally:
        binaries.find_binaries.cache_clear()
    assert code == 2 and "helm v3.19.0 not found" in err and "make setup" in err


def test_not_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = run(capsys, "validate")
    assert code == 2 and "shipyard.yaml" in err


def test_clean_fixture_exits_zero_and_findings_exit_one(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--check", "SY403"])
    assert code == 0
    cm = repo / "base/app/configmap.yaml"
    cm.write_text(cm.read_text().replace("namespace: app", "namespace: nowhere"))
    code = main(["validate", "--check", "SY403", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 1 and '"check": "SY403"' in out
