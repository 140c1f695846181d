"""Unknown commands and options, files the command cannot write, and the
last line of defence: an unexpected exception is one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard.cli.validate as validate_command
from shipyard.cli import main


@pytest.mark.parametrize(("argv", "words"), [
    (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
    (["validate", "--frob"], "unrecognized arguments: --frob"),
    (["validate", "--jobs", "many"], "argument --jobs: 'many' is not a whole number"),
    (["validate", "--jobs", "0"], "argument --jobs: must be 1 or more"),
    (["validate", "--format", "yaml"], "argument --format: invalid choice: 'yaml'"),
    (["diff"], "the following arguments are required: --base"),
    (["render"], "the following arguments are required: PATH"),
    (["promote", "iris", "--to", "dev", "--canary", "half"], "argument --canary: invalid int value: 'half'"),
])
def test_usage_errors_exit_2_with_the_usage(corpus: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                            words: str) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("usage: shipyard") and words in err and "Traceback" not in err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: shipyard" in capsys.readouterr().out


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--help"]) == 0
    assert "--changed-since" in capsys.readouterr().out


def test_a_report_file_in_a_missing_folder(corpus: Path, shipyard) -> None:
    error = shipyard("validate", "files/empty.yaml", "--junit", "no/such/folder/report.xml").error
    assert (error["check"], error["file"]) == ("SY900", "no/such/folder/report.xml")
    assert error["message"] == "No such file or directory"


def test_a_missing_path(corpus: Path, shipyard) -> None:
    error = shipyard("validate", "files/nope.yaml").error
    assert (error["check"], error["file"], error["message"]) == ("SY900", "files/nope.yaml", "no such file or folder")


def test_an_unexpected_exception_is_one_line_exit_3(corpus: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Exit 3 is never 2: tests that feed bad input still see a bug as a bug."""

    def broken(args: object) -> int:
        raise KeyError("spec")

    monkeypatch.setattr(validate_command, "run", broken)
    monkeypatch.delenv("SHIPYARD_DEBUG", raising=False)
    assert main(["validate"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("internal error: KeyError: 'spec'\n") and "Traceback" not in err
    assert "SHIPYARD_DEBUG=1" in err
    monkeypatch.setenv("SHIPYARD_DEBUG", "1")
    assert main(["validate"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_a_gitops_object_of_the_wrong_shape_is_a_finding(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (corpus / "files" / "gitrepository.yaml").write_text(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: x\n  namespace: flux-system\n"
        "spec: oops\n", encoding="utf-8")
    code = main(["validate", "files/gitrepository.yaml"])
    assert code == 1 and "internal error" not in capsys.readouterr().err


def test_a_deeply_nested_model_yaml_is_a_finding_not_a_crash(corpus: Path) -> None:
    """Run in a child process: libyaml's recursive composer would kill the interpreter (SIGSEGV)."""
    (corpus / "models" / "m").mkdir(parents=True)
    (corpus / "models" / "m" / "model.yaml").write_text("spec: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "shipyard", "validate"], cwd=corpus, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    # reported as a finding on the model (exit 1), never a crash of the interpreter
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-500:])
    assert "models/m/model.yaml:1: error SY501" in proc.stdout and "nests more than" in proc.stdout
