"""helm or kubectl missing, the wrong version, or hanging.

The fake binaries here are test inputs: shell scripts that print another
version, or never answer. Which binary shipyard picks is decided by
SHIPYARD_HELM / SHIPYARD_KUBECTL, then the virtual environment's bin folder
(``sys.prefix``), then PATH; tests that exercise PATH point ``sys.prefix``
at an empty folder so the real binaries of this environment stay out of it.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import time
from pathlib import Path

import pytest

from shipyard.render import binaries


def script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


OLD_HELM = 'echo "v3.12.0+gc9f554d"\n'
OLD_KUBECTL = 'echo "Client Version: v1.29.0"\necho "Kustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3"\n'


@pytest.fixture(scope="module")
def pinned() -> binaries.Binaries:
    """The pinned binaries of this environment (looked up before any test
    changes where to look)."""
    return binaries.find_binaries()


@pytest.fixture()
def only_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_binaries: None) -> Path:
    """Binaries come from a PATH folder the test fills (git stays reachable)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "no-venv"))
    monkeypatch.delenv("SHIPYARD_HELM", raising=False)
    monkeypatch.delenv("SHIPYARD_KUBECTL", raising=False)
    tools = tmp_path / "tools"  # git and sh only: this machine's other binaries stay out of the lookup
    tools.mkdir()
    for name in ("git", "sh"):
        found = shutil.which(name)
        if found:
            os.symlink(found, tools / name)
    monkeypatch.setenv("PATH", os.pathsep.join([str(folder), str(tools)]))
    return folder


def test_helm_missing(corpus: Path, shipyard, only_path: Path) -> None:
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert error["check"] == "SY901"
    assert error["message"] == "helm v3.19.0 not found (seen: none on PATH or in the virtual environment)"
    assert "make setup" in error["hint"]


def test_helm_of_another_version_on_path(corpus: Path, shipyard, only_path: Path) -> None:
    fake = script(only_path, "helm", OLD_HELM)
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert error["check"] == "SY901"
    assert error["message"] == f"helm v3.19.0 not found (seen: {fake} (v3.12.0+gc9f554d))"


def test_kubectl_missing(corpus: Path, shipyard, pinned: binaries.Binaries, only_path: Path) -> None:
    os.symlink(pinned.helm, only_path / "helm")
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert error["check"] == "SY901"
    assert error["message"] == "kubectl with kustomize v5.7.1 not found (seen: none on PATH or in the virtual environment)"


def test_kubectl_with_another_kustomize_on_path(corpus: Path, shipyard, pinned: binaries.Binaries,
                                                only_path: Path) -> None:
    os.symlink(pinned.helm, only_path / "helm")
    fake = script(only_path, "kubectl", OLD_KUBECTL)
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert error["check"] == "SY901"
    assert error["message"] == f"kubectl with kustomize v5.7.1 not found (seen: {fake} (kustomize v5.0.4))"


def test_the_real_binaries_on_path_are_accepted(corpus: Path, shipyard, pinned: binaries.Binaries,
                                                only_path: Path) -> None:
    """The same PATH lookup accepts the pinned versions: the failures above
    are the versions, not the lookup."""
    os.symlink(pinned.helm, only_path / "helm")
    os.symlink(pinned.kubectl, only_path / "kubectl")
    assert shipyard("validate", "k/shared", "--no-cache").code == 0


@pytest.mark.parametrize(("variable", "body", "seen"), [
    ("SHIPYARD_HELM", None, "not found"),
    ("SHIPYARD_HELM", OLD_HELM, "v3.12.0+gc9f554d"),
    ("SHIPYARD_HELM", "exit 3\n", "printed nothing, exit code 3"),
    ("SHIPYARD_KUBECTL", OLD_KUBECTL, "kustomize v5.0.4"),
])
def test_an_explicit_binary_is_used_or_refused_never_replaced(corpus: Path, shipyard, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch, fresh_binaries: None,
                                                               variable: str, body: str | None, seen: str) -> None:
    name = variable.split("_")[1].lower()
    path = script(tmp_path / "fake", name, body) if body is not None else tmp_path / "nowhere" / name
    monkeypatch.setenv(variable, str(path))
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert error["check"] == "SY901"
    assert f"(seen: {path} ({seen}))" in error["message"]
    assert error["hint"] == f"{variable} names a binary that is not the pinned version: point it at one that is, or unset it"


def test_a_binary_that_never_answers_its_version(corpus: Path, shipyard, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, fresh_binaries: None) -> None:
    fake = script(tmp_path / "fake", "helm", "exec sleep 60\n")
    monkeypatch.setenv("SHIPYARD_HELM", str(fake))
    monkeypatch.setenv("SHIPYARD_TOOL_TIMEOUT", "1")
    started = time.perf_counter()
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert time.perf_counter() - started < 10
    assert f"(seen: {fake} (no answer within 1s))" in error["message"]


def test_a_hanging_kustomize_hits_the_time_limit_and_is_stopped(corpus: Path, shipyard, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 fresh_binaries: None) -> None:
    """kubectl answers its version, then hangs in `kustomize` with a child
    process of its own: both are stopped when the limit is reached."""
    pidfile = tmp_path / "child.pid"
    fake = script(tmp_path / "fake", "kubectl", f'''case "$1" in
  version) echo "Kustomize Version: v5.7.1" ;;
  *) sleep 60 & echo $! > {pidfile}; wait ;;
esac
''')
    monkeypatch.setenv("SHIPYARD_KUBECTL", str(fake))
    monkeypatch.setenv("SHIPYARD_TOOL_TIMEOUT", "1")
    started = time.perf_counter()
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert time.perf_counter() - started < 10
    assert (error["check"], error["file"]) == ("SY903", "k/shared")
    assert error["message"] == ("kustomize build k/shared: timed out after 1s (the limit set by SHIPYARD_TOOL_TIMEOUT); "
                                "the process was stopped")
    assert not running(int(pidfile.read_text()))


def test_a_hanging_helm_hits_the_time_limit(corpus: Path, chart_mirror: Path, shipyard, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, fresh_binaries: None) -> None:
    fake = script(tmp_path / "fake", "helm", '''case "$1" in
  version) echo "v3.19.0" ;;
  *) exec sleep 60 ;;
esac
''')
    monkeypatch.setenv("SHIPYARD_HELM", str(fake))
    monkeypatch.setenv("SHIPYARD_MIRROR", str(chart_mirror))
    monkeypatch.setenv("SHIPYARD_TOOL_TIMEOUT", "1")
    started = time.perf_counter()
    error = shipyard("validate", "apps/required-value-missing.yaml").error
    assert time.perf_counter() - started < 10
    assert (error["check"], error["file"], error["line"]) == ("SY903", "apps/required-value-missing.yaml", 21)
    # the chart comes from the mirror's archive without `helm pull`: the hanging call is the template
    assert error["message"].startswith("helm template app-app (needs-value 0.1.0): ")
    assert error["message"].endswith("timed out after 1s (the limit set by SHIPYARD_TOOL_TIMEOUT); the process was stopped")


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf", "nan"])
def test_a_bad_time_limit_is_refused(corpus: Path, shipyard, monkeypatch: pytest.MonkeyPatch, fresh_binaries: None,
                                     value: str) -> None:
    monkeypatch.setenv("SHIPYARD_TOOL_TIMEOUT", value)
    error = shipyard("validate", "k/shared", "--no-cache").error
    assert error["check"] == "SY900"
    assert error["message"] == f"SHIPYARD_TOOL_TIMEOUT={value!r} is not a positive number of seconds"


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
