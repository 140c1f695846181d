"""Side environments: built once from a pinned file, reused, rebuilt when the pins change,
and never left half-built. Uses a requirements file with no packages, so no index is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard import envs
from shipyard.errors import ShipyardError

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_root(tmp_path: Path, requirements: str) -> Path:
    (tmp_path / "tools" / "envs").mkdir(parents=True)
    (tmp_path / "tools" / "envs" / "kfp.txt").write_text(requirements)
    return tmp_path


def test_created_once_then_reused_then_rebuilt_when_pins_change(tmp_path: Path) -> None:
    root = make_root(tmp_path, "# no packages\n")
    first = envs.ensure("kfp", root)
    assert first.created and first.seconds > 0
    env = first.env
    assert env.python.exists()
    marker = json.loads(env.marker.read_text())
    assert marker["python"].startswith("3.")
    sentinel = env.path / "sentinel"
    sentinel.write_text("kept while reused")

    again = envs.ensure("kfp", root)
    assert not again.created and sentinel.exists()

    (root / "tools" / "envs" / "kfp.txt").write_text("# no packages, new pins\n")
    assert not envs.is_ready(env)
    rebuilt = envs.ensure("kfp", root)
    assert rebuilt.created and not sentinel.exists()
    assert envs.is_ready(env)


def test_failed_install_leaves_nothing_that_looks_ready(tmp_path: Path) -> None:
    root = make_root(tmp_path, "this is === not a requirement\n")
    with pytest.raises(ShipyardError) as caught:
        envs.ensure("kfp", root)
    assert caught.value.check == "SY901"
    assert "install kfp.txt into .venv-kfp" in caught.value.message
    assert not (root / ".venv-kfp").exists()


def test_unknown_environment_and_missing_requirements(tmp_path: Path) -> None:
    with pytest.raises(ShipyardError, match="unknown side environment 'torch'"):
        envs.side_env("torch", tmp_path)
    with pytest.raises(ShipyardError, match="requirements file for the seldon environment is missing"):
        envs.side_env("seldon", tmp_path)


def test_missing_interpreter_is_named(tmp_path: Path) -> None:
    root = make_root(tmp_path, "# no packages\n")
    with pytest.raises(ShipyardError, match="Python interpreter not found: /nonexistent/python3.11"):
        envs.ensure("kfp", root, python="/nonexistent/python3.11")


def test_side_envs_belong_to_the_toolkit_checkout() -> None:
    assert envs.toolkit_root() == REPO_ROOT


@pytest.mark.parametrize("name", envs.KNOWN)
def test_requirements_are_a_complete_lock(name: str) -> None:
    lines = [line.strip() for line in (REPO_ROOT / "tools" / "envs" / f"{name}.txt").read_text().splitlines()]
    requirements = [line for line in lines if line and not line.startswith("#")]
    assert requirements and all("==" in line and ";" not in line for line in requirements), requirements
    pins = dict(line.split("==") for line in requirements)
    assert len(pins) == len(requirements)


def test_shared_pins_agree_so_artifacts_load_where_they_are_served() -> None:
    def pins(name: str) -> dict[str, str]:
        text = (REPO_ROOT / "tools" / "envs" / f"{name}.txt").read_text()
        return dict(line.strip().split("==") for line in text.splitlines() if "==" in line and not line.startswith("#"))

    kfp, seldon = pins("kfp"), pins("seldon")
    for package in ("scikit-learn", "numpy", "joblib", "scipy", "threadpoolctl"):
        assert kfp[package] == seldon[package], package
    assert seldon["seldon-core"] == "1.17.1"
