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


def test_pip_and_uv_build_the_same_kind_of_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both installers give a ready environment; pip is kept for machines without uv."""
    assert envs.uv_binary() is not None, "uv is a dependency of the toolkit (pyproject.toml)"
    for installer in ("uv", "pip"):
        monkeypatch.setenv(envs.INSTALLER_ENV_VAR, installer)
        root = make_root(tmp_path / installer, "# no packages\n")
        result = envs.ensure("kfp", root)
        assert result.created and envs.is_ready(result.env)
        assert (result.env.path / "pyvenv.cfg").is_file()
    monkeypatch.setenv(envs.INSTALLER_ENV_VAR, "pip")
    assert envs.uv_binary() is None


def test_uv_reads_the_indexes_pip_is_configured_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    config = tmp_path / "pip.conf"
    config.write_text(
        "[global]\nindex-url = https://files.example/simple\n"
        f"find-links = {wheels} {tmp_path / 'absent'}\n"
        "[install]\nextra-index-url = https://extra.example/simple\n"
    )
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    args = envs.pip_settings_for_uv()
    assert args[args.index("--index-url") + 1] == "https://files.example/simple"
    assert args[args.index("--extra-index-url") + 1] == "https://extra.example/simple"
    # a find-links folder that does not exist is left out, as pip ignores it
    assert ["--find-links", str(wheels)] == args[args.index("--find-links"):args.index("--find-links") + 2]
    assert str(tmp_path / "absent") not in args
    # a variable wins over the files, as in pip
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple")
    args = envs.pip_settings_for_uv()
    assert args[args.index("--index-url") + 1] == "https://mirror.example/simple"
