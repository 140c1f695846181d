"""Bad input, end to end: the real command on a copy of the bad-input corpus.

Every test here runs ``shipyard`` (``shipyard.cli.main``, the function the
console script calls) with the real helm and kustomize, and reads what a
user would read: the exit code, the one error line on stderr, or the
findings as JSON on stdout.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shipyard.cli import main
from shipyard.render import binaries

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bad-input"

# error [SY910]: files/x.yaml:6: invalid YAML: ...
#   hint: ...
ERROR = re.compile(r"^error \[(?P<check>SY\d{3})\]: (?:(?P<file>[^\s:]+?)(?::(?P<line>\d+))?: )?(?P<message>.*)$")


@dataclass
class Outcome:
    """What one command printed and returned."""

    code: int
    out: str
    err: str

    @property
    def error(self) -> dict[str, Any]:
        """The single error (exit 2): check id, file, line, message, hint."""
        lines = self.err.strip().splitlines()
        assert lines, "no error printed"
        errors = [ERROR.match(line) for line in lines if line.startswith("error [")]
        assert len(errors) == 1 and errors[0] is not None, f"expected one error line, got:\n{self.err}"
        found = errors[0].groupdict()
        found["line"] = int(found["line"]) if found["line"] else None
        hints = [line.strip()[len("hint: "):] for line in lines if line.strip().startswith("hint: ")]
        found["hint"] = hints[0] if hints else None
        return found

    @property
    def findings(self) -> list[dict[str, Any]]:
        """Findings of ``--format json`` (exit 1)."""
        return json.loads(self.out)["findings"]


@pytest.fixture()
def shipyard(capsys: pytest.CaptureFixture[str]):
    """Run the command and check what must hold for any input: no
    traceback, no internal error, an exit code of 0, 1 or 2."""

    def run(*argv: str) -> Outcome:
        code = main(list(argv))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err and "internal error" not in captured.err, captured.err
        assert code in (0, 1, 2), (code, captured.err)
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture()
def corpus(tmp_path: Path, mirror_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the corpus repository as the current folder, with a folder
    outside it (``../outside``, a valid kustomization) for the escape cases."""
    root = tmp_path / "repo"
    shutil.copytree(CORPUS / "repo", root, symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- configmap.yaml\n", encoding="utf-8"
    )
    (outside / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outside\n  namespace: default\n", encoding="utf-8"
    )
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="session")
def chart_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirror folder holding the corpus chart (needs-value 0.1.0),
    packaged and indexed with the real helm, as the upstream mirror is."""
    helm = binaries.find_binaries().helm
    mirror = tmp_path_factory.mktemp("chart-mirror")
    charts = mirror / "charts"
    charts.mkdir()
    for cmd in ([helm, "package", str(CORPUS / "charts" / "needs-value"), "--destination", str(charts)],
                [helm, "repo", "index", str(charts)]):
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return mirror


@pytest.fixture()
def fresh_binaries():
    """find_binaries() looks again (it is cached per process) and the
    next test does too."""
    binaries.find_binaries.cache_clear()
    yield
    binaries.find_binaries.cache_clear()
