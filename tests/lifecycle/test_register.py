"""register: what a training pipeline's last step calls. It appends the
version to model.yaml (comments kept), generates the version's components,
and refuses to change a registered version."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json

import yaml

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture


DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _metrics(tmp_path, data, name: str = "metrics.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_register_then_promote(lc: LifecycleRepo, tmp_path) -> None:
    before = lc.read("models/iris/model.yaml")
    run = lc.shipyard("register", "iris", "--version", "1.3.0", "--uri", "gs://models-example/iris/1.3.0",
                      "--metrics", _metrics(tmp_path, {"accuracy": 0.98, "f1_macro": 0.975}),
                      "--sha256", DIGEST, "--pipeline-run", "run-0004", "--created", "2026-11-20T10:00:00Z")
    assert run.code == 0, run.err
    after = lc.read("models/iris/model.yaml")
    assert after.startswith(before)  # appended; every comment and line above is untouched
    assert after[len(before):] == (
        "  - version: 1.3.0\n"
        "    modelUri: gs://models-example/iris/1.3.0\n"
        f"    sha256: {DIGEST}\n"
        "    metrics: {accuracy: 0.98, f1_macro: 0.975}\n"
        "    pipelineRun: run-0004\n"
        "    created: '2026-11-20T10:00:00Z'\n"
    )
    component = yaml.safe_load(lc.read("models/iris/versions/1.3.0/kustomization.yaml"))
    assert "gs://models-example/iris/1.3.0" in component["patches"][0]["patch"]
    assert (lc.root / "models/iris/versions/1.3.0/canary/kustomization.yaml").is_file()
    assert lc.branch == "main"  # register edits files; --commit makes a branch
    assert sorted(lc.dirty()) == [" M models/iris/model.yaml", "?? models/iris/versions/1.3.0/"]
    lc.commit_all("register 1.3.0")

    assert lc.shipyard("promote", "iris", "--to", "dev").code == 0  # dev defaults to the latest version
    assert lc.predictors("dev") == [("default", "gs://models-example/iris/1.3.0", 100, 1)]


def test_register_is_idempotent_and_versions_are_immutable(lc: LifecycleRepo, tmp_path) -> None:
    metrics = _metrics(tmp_path, {"accuracy": 0.98, "f1_macro": 0.97})
    args = ["register", "iris", "--version", "1.3.0", "--uri", "gs://models-example/iris/1.3.0", "--metrics", metrics,
            "--commit"]
    assert lc.shipyard(*args).code == 0
    assert lc.branch == "register/iris-1.3.0"
    head = lc.head
    again = lc.shipyard(*args)
    assert again.code == 0 and "already registered" in again.out and lc.head == head
    changed = lc.shipyard("register", "iris", "--version", "1.3.0", "--uri", "gs://models-example/iris/1.3.1",
                          "--metrics", metrics)
    assert changed.code == 2
    assert "iris 1.3.0 is already registered with different facts (registered versions are immutable)" in changed.err
    reused = lc.shipyard("register", "iris", "--version", "1.4.0", "--uri", "gs://models-example/iris/1.3.0",
                         "--metrics", metrics)
    assert reused.code == 2 and "modelUri is already registered for version '1.3.0'" in reused.err
    assert lc.dirty() == []


def test_kubeflow_metrics_file(lc: LifecycleRepo, tmp_path) -> None:
    metrics = _metrics(tmp_path, {"metrics": [{"name": "accuracy", "numberValue": 0.96},
                                              {"name": "f1_macro", "numberValue": 0.95, "format": "RAW"}]})
    assert lc.shipyard("register", "iris", "--version", "1.3.0", "--uri", "s3://b/iris/1.3.0",
                       "--metrics", metrics).code == 0
    entry = yaml.safe_load(lc.read("models/iris/model.yaml"))["spec"]["versions"][-1]
    assert entry["metrics"] == {"accuracy": 0.96, "f1_macro": 0.95}


def test_bad_input_is_refused_before_writing(lc: LifecycleRepo, tmp_path) -> None:
    good = _metrics(tmp_path, {"accuracy": 0.9})
    cases = [
        (["--version", "1.3.0", "--uri", "gs://b/iris/latest", "--metrics", good], "moving location"),
        (["--version", "1.3.0", "--uri", "gs://b/iris/1.3.0", "--metrics", good, "--sha256", "abc"], "64 lowercase hex"),
        (["--version", "1 3", "--uri", "gs://b/iris/1.3.0", "--metrics", good], "a version is 1-63 letters"),
        (["--version", "1.3.0", "--uri", "gs://b/iris/1.3.0", "--metrics", str(tmp_path / "missing.json")],
         "cannot read the metrics file"),
        (["--version", "1.3.0", "--uri", "gs://b/iris/1.3.0", "--metrics", _metrics(tmp_path, {"accuracy": "high"}, "bad.json")],
         "metric 'accuracy' is not a number"),
        (["--version", "1.3.0", "--uri", "gs://b/iris/1.3.0"], "register needs --metrics"),
    ]
    before = lc.read("models/iris/model.yaml")
    for args, message in cases:
        run = lc.shipyard("register", "iris", *args)
        assert run.code == 2, args
        assert message in run.err, (args, run.err)
    assert lc.read("models/iris/model.yaml") == before
    assert lc.dirty() == []


def test_sync_repairs_a_hand_edited_component(lc: LifecycleRepo) -> None:
    path = "models/iris/versions/1.1.0/kustomization.yaml"
    original = lc.read(path)
    lc.write(path, original.replace("gs://models-example/iris/1.1.0", "gs://elsewhere/iris"))
    lc.commit_all("hand edit")
    run = lc.shipyard("register", "iris", "--sync", "--commit", "--no-branch")
    assert run.code == 0, run.err
    assert lc.read(path) == original
    assert lc.git("log", "-1", "--format=%s").strip() == "Regenerate the version components of iris"
