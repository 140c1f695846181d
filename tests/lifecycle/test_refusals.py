"""Every refusal: a clear error (exit 2) naming what exists or what to do,
and nothing changed: no file, no branch, no commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture



@pytest.fixture
def unchanged(lc: LifecycleRepo):
    """Assert, after the test body, that the refusal changed nothing."""
    state = {}

    def snapshot() -> None:
        state.update(head=lc.head, branch=lc.branch, branches=lc.branches(), dirty=lc.dirty(),
                     pins={e: lc.pin(e) for e in ("dev", "staging", "production")},
                     model=lc.read("models/iris/model.yaml"))

    def check() -> None:
        assert lc.head == state["head"]
        assert lc.branch == state["branch"]
        assert lc.branches() == state["branches"]
        assert lc.dirty() == state["dirty"]
        assert {e: lc.pin(e) for e in ("dev", "staging", "production")} == state["pins"]
        assert lc.read("models/iris/model.yaml") == state["model"]

    return snapshot, check


REFUSALS = [
    (["promote", "nope", "--to", "dev"], "unknown model 'nope'", "models are: iris, resnet"),
    (["promote", "iris", "--to", "qa"], "unknown environment 'qa'", "environments are: dev, staging, production"),
    (["promote", "iris", "--to", "dev", "--version", "9.9.9"], "no registered version '9.9.9'",
     "registered versions: 1.0.0, 1.1.0, 1.2.0"),
    (["promote", "iris", "--to", "production", "--version", "1.2.0", "--force", "--reason", "x"],
     "iris 1.2.0 fails the production gate: accuracy = 0.91 fails the gate (>= 0.93)", "models/iris/model.yaml:"),
    (["promote", "iris", "--to", "production", "--version", "1.1.0"],
     "iris 1.1.0 is not running in staging (staging runs 1.0.0): production comes after staging",
     "promote it to staging first, or pass --force --reason TEXT"),
    (["promote", "iris", "--to", "staging", "--version", "1.1.0"], "not running in dev", "SY510"),
    (["promote", "iris", "--to", "production", "--version", "1.1.0", "--force"], "--force needs --reason", ""),
    (["promote", "iris", "--to", "production", "--version", "1.1.0", "--reason", "why"], "--reason goes with --force", ""),
    (["promote", "iris", "--to", "dev", "--version", "1.1.0", "--canary", "10"],
     "canary traffic needs Istio, and clusters/dev-kind/cluster.yaml says istio: false", "SY509"),
    (["promote", "iris", "--to", "production", "--version", "1.1.0", "--canary", "100", "--force", "--reason", "x"],
     "--canary takes a percentage from 1 to 99", ""),
    (["promote", "iris", "--to", "production", "--version", "1.0.0", "--canary", "10"],
     "iris 1.0.0 is already the stable version in production", ""),
    (["promote", "resnet", "--to", "staging", "--version", "2026.10", "--canary", "10", "--force", "--reason", "x"],
     "resnet has no stable version in staging", "promote it without --canary first"),
    (["rollout", "iris", "--env", "production", "--finish"], "no canary of iris is running in production", ""),
    (["rollout", "iris", "--env", "production", "--abort"], "no canary of iris is running in production", ""),
    (["rollback", "iris", "--env", "production"], "no earlier version of iris in production in the git history", ""),
    (["rollback", "resnet", "--env", "production"], "resnet is not deployed in production", ""),
    (["status", "--env", "qa"], "unknown environment 'qa'", ""),
]


@pytest.mark.parametrize("args,message,detail", REFUSALS, ids=[" ".join(r[0][:4]) for r in REFUSALS])
def test_refusal(lc: LifecycleRepo, unchanged, args: list[str], message: str, detail: str) -> None:
    snapshot, check = unchanged
    snapshot()
    run = lc.shipyard(*args)
    assert run.code == 2, run.out
    assert message in run.err
    assert detail in run.err
    assert "Traceback" not in run.err
    check()


def test_dirty_work_tree(lc: LifecycleRepo, unchanged) -> None:
    snapshot, check = unchanged
    lc.write("notes.txt", "work in progress\n")
    snapshot()
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0")
    assert run.code == 2
    assert "the work tree has uncommitted changes: notes.txt" in run.err
    check()


def test_promote_while_a_canary_runs(lc: LifecycleRepo, unchanged) -> None:
    snapshot, check = unchanged
    assert lc.shipyard("promote", "iris", "--to", "production", "--version", "1.1.0", "--canary", "10",
                       "--force", "--reason", "test", "--no-branch").code == 0
    snapshot()
    for args in (["promote", "iris", "--to", "production", "--version", "1.1.0", "--force", "--reason", "x"],
                 ["rollback", "iris", "--env", "production"]):
        run = lc.shipyard(*args)
        assert run.code == 2
        assert "a canary of iris 1.1.0 is running in production" in run.err
        assert "overlays/production/models/iris/kustomization.yaml:" in run.err
    check()


def test_local_artifact_cannot_be_pinned(lc: LifecycleRepo, unchanged, tmp_path) -> None:
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"accuracy": 0.99, "f1_macro": 0.99}')
    assert lc.shipyard("register", "iris", "--version", "1.3.0", "--uri", "file:///tmp/iris/1.3.0",
                       "--metrics", str(metrics), "--commit", "--no-branch").code == 0
    snapshot, check = unchanged
    snapshot()
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.3.0")
    assert run.code == 2
    assert "file:///tmp/iris/1.3.0, a local folder no cluster in dev can read" in run.err
    check()


def test_existing_branch_with_other_content(lc: LifecycleRepo, unchanged) -> None:
    lc.git("branch", "promote/iris-dev-1.1.0")
    snapshot, check = unchanged
    snapshot()
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0")
    assert run.code == 2
    assert "branch promote/iris-dev-1.1.0 already exists with other content" in run.err
    check()


def test_change_that_does_not_render_is_undone(lc: LifecycleRepo, unchanged) -> None:
    """The version component is gone: kustomize fails after the edit, and
    the edit, the branch and the switch are all undone."""
    lc.git("rm", "-q", "-r", "models/iris/versions/1.1.0")
    lc.git("commit", "-q", "-m", "lose a component")
    snapshot, check = unchanged
    snapshot()
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0")
    assert run.code == 2
    assert "kustomize build overlays/dev/models/iris" in run.err
    check()  # includes: no temporary file left behind (it would show as untracked)


def test_broken_model_yaml_is_reported_with_its_line(lc: LifecycleRepo, unchanged) -> None:
    text = lc.read("models/iris/model.yaml").replace("    gpu: 0\n", "    gpu: 0\n    gpus: 1\n")
    lc.write("models/iris/model.yaml", text)
    lc.commit_all("typo")
    snapshot, check = unchanged
    snapshot()
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0")
    assert run.code == 2
    line = text.splitlines().index("    gpus: 1") + 1
    assert f"models/iris/model.yaml:{line}: spec.serving: unknown field 'gpus'" in run.err
    check()


@pytest.mark.parametrize("uri", [
    "s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@models/iris/1.3.0",
    "https://models.example.com/iris/1.3.0?X-Amz-Signature=abc123&X-Amz-Credential=AKIA",
    "gs://models-example/iris/1.3.0?token=abc",
])
def test_register_refuses_a_uri_with_credentials(lc: LifecycleRepo, unchanged, tmp_path, uri: str) -> None:
    """The rule SY321 applies to rendered URIs, before anything is written:
    what `register` writes is committed to git."""
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"accuracy": 0.99, "f1_macro": 0.99}')
    snapshot, check = unchanged
    snapshot()
    run = lc.shipyard("register", "iris", "--version", "1.3.0", "--uri", uri, "--metrics", str(metrics), "--commit")
    assert run.code == 2, run.out
    assert "error [SY321]" in run.err and "credentials never go into git" in run.err
    assert "wJalrXUtnFEMI" not in run.err and "abc123" not in run.err  # the secret is not echoed
    check()


def test_promote_refuses_a_registered_uri_with_credentials(lc: LifecycleRepo, unchanged) -> None:
    """A version written into model.yaml by hand with a signed URL is not promoted either."""
    text = lc.read("models/iris/model.yaml").replace("gs://models-example/iris/1.1.0",
                                                     "https://storage.example.com/iris/1.1.0?sig=abc123")
    lc.write("models/iris/model.yaml", text)
    lc.git("commit", "-qam", "hand edit")
    snapshot, check = unchanged
    snapshot()
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0")
    assert run.code == 2, run.out
    assert "error [SY321]" in run.err and "a sig parameter in the URI's query" in run.err
    check()
