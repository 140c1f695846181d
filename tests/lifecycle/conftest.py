"""A temporary git clone of the lifecycle fixture repository per test, and
helpers to drive the `shipyard` CLI in-process and read back what changed:
files, commits, and the SeldonDeployments kustomize renders."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shipyard.models.pins import env_models_dir
from shipyard.models.rules import seldon_deployments
from shipyard.targets import build_folder
from shipyard.cli import main
from shipyard.repo import Repository

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "repos" / "lifecycle"


@dataclass
class Run:
    code: int
    out: str
    err: str


class LifecycleRepo:
    """The fixture, cloned: run commands in it and look at the result."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self._capsys = capsys

    def shipyard(self, *args: str) -> Run:
        self._capsys.readouterr()
        code = main([*args, "--repo", str(self.root)])
        captured = self._capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True, text=True).stdout

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def commit_all(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    @property
    def branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD").strip()

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def branches(self) -> set[str]:
        return set(self.git("branch", "--format=%(refname:short)").split())

    def dirty(self) -> list[str]:
        return [line for line in self.git("status", "--porcelain").splitlines() if line]

    def pin(self, env: str, model: str = "iris") -> str:
        return self.read(f"overlays/{env}/models/{model}/kustomization.yaml")

    def objects(self, env: str) -> list[dict[str, Any]]:
        """Everything kustomize builds from overlays/<env>/models."""
        repo = Repository.load(self.root)
        return build_folder(repo, env_models_dir(repo, env), use_cache=False)

    def rendered(self, env: str) -> dict[str, dict[str, Any]]:
        """SeldonDeployments of overlays/<env>/models, by name."""
        return {o["metadata"]["name"]: o for o in seldon_deployments(self.objects(env))}

    def predictors(self, env: str, model: str = "iris") -> list[tuple[str, str, int, int]]:
        """(name, modelUri, traffic, replicas) of each rendered predictor."""
        sd = self.rendered(env)[model]
        return [(p["name"], p["graph"]["modelUri"], p.get("traffic", 100), p.get("replicas", 1))
                for p in sd["spec"]["predictors"]]




@pytest.fixture
def lc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> LifecycleRepo:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    for key, value in {
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        monkeypatch.setenv(key, value)
    repo = LifecycleRepo(root, capsys)
    repo.git("init", "-q", "-b", "main")
    repo.commit_all("fixture")
    return repo
