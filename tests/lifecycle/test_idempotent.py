"""Every command that changes the repository, run twice: the second run
writes nothing, makes no commit or branch and exits 0. Run again from the
branch it started on, it recognises the branch the first run prepared."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

CANARY = ["promote", "iris", "--to", "production", "--version", "1.1.0", "--canary", "10", "--force", "--reason", "t"]
REGISTER = ["register", "iris", "--version", "1.3.0", "--uri", "gs://models-example/iris/1.3.0", "--metrics", "{metrics}",
            "--created", "2026-11-20T10:00:00Z"]

# (setup commands, the command, what the second run says, the branch the first run makes)
CASES = {
    "promote": ([], ["promote", "iris", "--to", "dev", "--version", "1.1.0"],
                "iris 1.1.0 is already pinned in dev with 1 replica(s)", "promote/iris-dev-1.1.0"),
    "promote-first-time": ([], ["promote", "resnet", "--to", "staging"],
                           "resnet 2026.10 is already pinned in staging", "promote/resnet-staging-2026.10"),
    "promote-no-commit": ([], ["promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-commit"],
                          "already pinned in dev", None),
    "canary": ([], CANARY, "a canary of iris 1.1.0 at 10% already runs in production",
               "canary/iris-production-1.1.0-10"),
    "rollout-finish": ([CANARY + ["--no-branch"]], ["rollout", "iris", "--env", "production", "--finish"],
                       "already done in commit", "rollout/iris-production-1.1.0-finish"),
    "rollout-abort": ([CANARY + ["--no-branch"]], ["rollout", "iris", "--env", "production", "--abort"],
                      "already done in commit", "rollout/iris-production-1.1.0-abort"),
    "register": ([], REGISTER, "iris 1.3.0 is already registered", None),
    "register-commit": ([], REGISTER + ["--commit"], "iris 1.3.0 is already registered", "register/iris-1.3.0"),
    "register-sync": ([], ["register", "iris", "--sync", "--commit"], "the components of iris match", None),
}


def tree(lc: LifecycleRepo) -> dict[str, str]:
    """Every file of the work tree (not .git) by its digest."""
    return {str(p.relative_to(lc.root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(lc.root.rglob("*")) if p.is_file() and ".git" not in p.relative_to(lc.root).parts}


def state(lc: LifecycleRepo) -> tuple:
    return lc.head, lc.branch, lc.branches(), lc.dirty(), tree(lc)


@pytest.mark.parametrize("name", list(CASES))
def test_second_run_changes_nothing(lc: LifecycleRepo, tmp_path: Path, name: str) -> None:
    setup, command, noop, branch = CASES[name]
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"accuracy": 0.98, "f1_macro": 0.97}))
    command = [str(metrics) if arg == "{metrics}" else arg for arg in command]
    if name == "register-sync":  # something to regenerate
        component = "models/iris/versions/1.1.0/kustomization.yaml"
        lc.write(component, lc.read(component).replace("gs://models-example/iris/1.1.0", "gs://elsewhere/iris"))
        lc.commit_all("hand edit")
    for args in setup:
        assert lc.shipyard(*args).code == 0
    start = lc.branch
    first = lc.shipyard(*command)
    assert first.code == 0, first.err
    assert "nothing written" not in first.out
    if branch:
        assert lc.branch == branch
    after_first = state(lc)

    second = lc.shipyard(*command)
    assert second.code == 0, second.err
    assert noop in second.out and "nothing written" in second.out
    assert state(lc) == after_first

    if branch:
        lc.git("switch", "-q", start)
        on_start = state(lc)
        third = lc.shipyard(*command)
        assert third.code == 0, third.err
        assert f"already prepared on branch {branch}: nothing written" in third.out
        assert state(lc) == on_start


def test_rerun_as_new_processes_after_a_success(lc: LifecycleRepo) -> None:
    """The retried CI step: the same command line, a fresh process each
    time, JSON out; the second reports no change and the same branch."""
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "shipyard"
    args = [str(exe), *CANARY, "--format", "json", "--repo", str(lc.root)]
    runs = [subprocess.run(args, capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    first, second = (json.loads(r.stdout) for r in runs)
    assert first["changed"] == ["overlays/production/models/iris/kustomization.yaml"]
    assert second["changed"] == [] and second["note"] == "a canary of iris 1.1.0 at 10% already runs in production"
    assert lc.git("rev-list", "--count", "main..HEAD").strip() == "1"
