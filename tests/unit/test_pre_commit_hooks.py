"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit (pinned in
the `test` extras) as its header tells a consuming repository to use them.

The hook repository is a scratch git repository holding this work tree (so
uncommitted edits to the hooks are what is tested); the consuming
repository is a clone of it, which validates clean, with the documented
.pre-commit-config.yaml committed. pre-commit's cache (PRE_COMMIT_HOME) is a
folder of the test's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PRE_COMMIT = BIN / "pre-commit"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root,
                          check=True, capture_output=True, text=True, timeout=120).stdout


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This work tree's files (tracked, and untracked but not ignored) as a
    one-commit git repository; its path and commit."""
    if not PRE_COMMIT.is_file():
        pytest.fail(f"{PRE_COMMIT} is missing: it is in the `test` extras; run `make setup`")
    root = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            check=True, capture_output=True).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = REPO_ROOT / rel
        if source.is_file():  # a tracked file deleted in the work tree is not copied
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / rel)
    git(root, "init", "-q", "-b", "main")
    return root, commit_all(root, "hooks under test")


def consumer(tmp_path: Path, hook_repo: tuple[Path, str], hook: str) -> Path:
    """A clone of the hook repository (a repository laid out like Shipyard)
    whose .pre-commit-config.yaml is the one the hooks file documents,
    pinned to the hook repository's commit."""
    repo, rev = hook_repo
    root = tmp_path / "consumer"
    git(tmp_path, "clone", "-q", str(repo), str(root))
    config = {"repos": [{"repo": str(repo), "rev": rev, "hooks": [{"id": hook}]}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    commit_all(root, "consumer")
    cache = REPO_ROOT / ".shipyard-cache"
    if cache.is_dir():
        # The render cache is keyed by the content of every input, so this
        # work tree's (filled by the tests that render it) is valid here: the
        # hook's validate then renders in seconds, not twenty. git ignores it.
        shutil.copytree(cache, root / ".shipyard-cache")
    return root


def pre_commit(root: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PRE_COMMIT), "run", "--all-files", "--color", "never"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "VIRTUAL_ENV"))}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    # this virtualenv's folder is put on PATH only where a test says so
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != BIN)
    return env


def test_the_header_documents_no_release_tag_and_no_tools_folder_install() -> None:
    text = (REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "./tools" not in text
    assert "v0.1.0" not in text
    assert "rev: <full commit sha>" in text
    hooks = {h["id"]: h for h in yaml.safe_load(text)}
    assert hooks["shipyard-validate"]["language"] == "python"
    assert (REPO_ROOT / "pyproject.toml").is_file()  # what language: python pip-installs


def test_system_hook_validates_the_consuming_repository(tmp_path: Path, hook_repo: tuple[Path, str],
                                                        mirror_dir: Path) -> None:
    root = consumer(tmp_path, hook_repo, "shipyard-validate-system")
    env = base_env(tmp_path)
    env["PATH"] = os.pathsep.join([str(BIN), env["PATH"]])  # an installed shipyard, helm and kubectl
    done = pre_commit(root, env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "shipyard validate (installed)" in done.stdout and "Passed" in done.stdout

    settings = root / "shipyard.yaml"
    settings.write_text(settings.read_text().replace("example/shipyard.git", "example/elsewhere.git"))
    commit_all(root, "shipyard.yaml names another repository than the clusters sync from")
    done = pre_commit(root, env, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Failed" in done.stdout and "SY404" in done.stdout


@pytest.mark.slow
def test_python_hook_builds_its_environment_from_the_repository_root(tmp_path: Path, hook_repo: tuple[Path, str],
                                                                     mirror_dir: Path) -> None:
    """The documented hook: pre-commit pip-installs the hook repository's
    root into an environment of its own (dependencies from the package
    index), and that environment's shipyard validates; helm and kubectl are
    named by SHIPYARD_HELM and SHIPYARD_KUBECTL, and this virtualenv is not
    on PATH."""
    root = consumer(tmp_path, hook_repo, "shipyard-validate")
    env = base_env(tmp_path)
    env["SHIPYARD_HELM"], env["SHIPYARD_KUBECTL"] = str(BIN / "helm"), str(BIN / "kubectl")
    done = pre_commit(root, env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "shipyard validate" in done.stdout and "Passed" in done.stdout
    built = list((tmp_path / "pre-commit-home").glob("repo*/py_env-*/bin/shipyard"))
    assert built, "no hook environment with a shipyard executable was built"
