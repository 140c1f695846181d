"""The iris pipeline run locally (kfp's SubprocessRunner), registering into a clone,
and the artifact it registers served by seldon-core: the whole path from training to serving."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from shipyard.serving.server import SeldonServer, pick_ports
from shipyard.serving.session import build_server, prepare

pytestmark = pytest.mark.sidecar_env

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPYARD = str(REPO_ROOT / ".venv" / "bin" / "shipyard")


def run_pipeline(clone: Path, store: Path, version: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPYARD, "pipeline", "run", "iris", "--repo", str(clone), "--version", version, "--model-store", str(store),
         "--pipeline-root", str(store.parent / f"root-{version}"), *extra],
        capture_output=True, text=True, timeout=300,
    )


def test_local_run_registers_a_version_that_serves(kfp_env, seldon_env, repo_clone: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    real_model_yaml = (REPO_ROOT / "models" / "iris" / "model.yaml").read_bytes()
    store = tmp_path / "store"
    done = run_pipeline(repo_clone, store, "1.1.0")
    assert done.returncode == 0, done.stderr
    assert "pipeline iris finished in" in done.stdout

    artifact = store / "iris" / "1.1.0" / "model.joblib"
    assert artifact.is_file()
    assert stat.S_IMODE(artifact.stat().st_mode) == 0o644  # readable by the server's group, like a normal file
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    model = yaml.safe_load((repo_clone / "models" / "iris" / "model.yaml").read_text())
    (entry,) = [v for v in model["spec"]["versions"] if v["version"] == "1.1.0"]
    assert entry["modelUri"] == f"file://{store}/iris/1.1.0"
    assert entry["sha256"] == digest
    assert entry["metrics"]["accuracy"] >= 0.9 and entry["metrics"]["f1_macro"] >= 0.9
    assert entry["pipelineRun"].startswith("iris-")
    branch = subprocess.run(["git", "-C", str(repo_clone), "branch", "--show-current"], capture_output=True, text=True).stdout.strip()
    assert branch == "register/iris-1.1.0"
    # ...and the terminal says so, with the way back (not only run.log)
    assert "the run left the work tree" in done.stderr and "on branch register/iris-1.1.0" in done.stderr
    assert f"to go back: git -C {repo_clone} switch main" in done.stderr
    assert subprocess.run(["git", "-C", str(repo_clone), "status", "--porcelain"], capture_output=True, text=True).stdout == ""
    assert (REPO_ROOT / "models" / "iris" / "model.yaml").read_bytes() == real_model_yaml

    # What was registered is what serves: resolved from the clone's model.yaml, sha256 checked.
    prepared = prepare(repo_clone, "iris", "1.1.0")
    assert prepared.artifact.verified
    server: SeldonServer = build_server(prepared, pick_ports(), log_path=tmp_path / "server.log")
    with server:
        request = urllib.request.Request(
            server.predict_url, data=json.dumps({"data": {"ndarray": [[5.1, 3.5, 1.4, 0.2], [5.9, 3.0, 5.1, 1.8]]}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
    names = body["data"]["names"]
    assert names == ["setosa", "versicolor", "virginica"]
    assert [names[row.index(max(row))] for row in body["data"]["ndarray"]] == ["setosa", "virginica"]


def test_float_inputs_are_typed_and_no_branch_means_no_note(kfp_env, repo_clone: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """kfp declares a float input as `Float`: --param regularization=1.0 reaches
    the train step as a number. With git_commit=false register only edits
    files, so the work tree stays on its branch and nothing is said about one."""
    store = tmp_path / "store"
    done = run_pipeline(repo_clone, store, "1.4.0", "--param", "regularization=1.0", "--param", "git_commit=false",
                        "--param", "test_fraction=0.25")
    assert done.returncode == 0, done.stderr
    assert "pipeline iris finished in" in done.stdout
    assert "note:" not in done.stderr
    branch = subprocess.run(["git", "-C", str(repo_clone), "branch", "--show-current"], capture_output=True, text=True).stdout.strip()
    assert branch == "main"
    model = yaml.safe_load((repo_clone / "models" / "iris" / "model.yaml").read_text())
    assert [v["version"] for v in model["spec"]["versions"] if v["version"] == "1.4.0"] == ["1.4.0"]


def test_parameters_are_read_as_the_types_kfp_declares(kfp_env) -> None:  # type: ignore[no-untyped-def]
    pairs = ["version=2.0", "model_store=/x", "regularization=1", "test_fraction=0.25", "seed=7", "git_commit=false"]
    script = ("import json, sys; sys.path.insert(0, 'pipelines'); import kfp_tool; "
              f"print(json.dumps(kfp_tool.parse_params(kfp_tool.load_pipeline_module('iris'), {pairs!r})))")
    done = subprocess.run([str(kfp_env.python), "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    params = json.loads(done.stdout)
    assert params == {"version": "2.0", "model_store": "/x", "regularization": 1.0, "test_fraction": 0.25, "seed": 7,
                      "git_commit": False}
    assert isinstance(params["regularization"], float) and isinstance(params["seed"], int)


def test_a_failing_step_is_named_on_the_terminal(kfp_env, repo_clone: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = run_pipeline(repo_clone, tmp_path / "store", "1.5.0", "--param", "test_fraction=1.5")
    assert done.returncode == 2
    assert ("error [SY900]: pipeline iris failed: step 'preprocess' failed: "
            "ValueError: test_fraction must be between 0 and 1, got 1.5") in done.stderr
    assert "full log: " in done.stderr and "Traceback" not in done.stderr


def test_a_version_in_the_store_is_never_overwritten(kfp_env, repo_clone: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    target = store / "iris" / "1.2.0" / "model.joblib"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"an earlier artifact")
    done = run_pipeline(repo_clone, store, "1.2.0")
    assert done.returncode == 2
    assert "already holds different bytes: versions are immutable" in done.stderr
    assert target.read_bytes() == b"an earlier artifact"


def test_register_refusal_fails_the_run_with_its_reason(kfp_env, repo_clone: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = (repo_clone / "models" / "iris" / "model.yaml").read_bytes()
    done = run_pipeline(repo_clone, tmp_path / "store", "1.0.0")  # 1.0.0 is already registered with another URI
    assert done.returncode == 2
    assert "step 'register' failed: RuntimeError: `shipyard register` failed (exit 2): error [" in done.stderr
    assert "1.0.0" in done.stderr
    assert "Traceback" not in done.stderr
    assert (repo_clone / "models" / "iris" / "model.yaml").read_bytes() == before


def test_missing_shipyard_executable_is_named(kfp_env, repo_clone: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [str(kfp_env.python), str(repo_clone / "pipelines" / "kfp_tool.py"), "run", "iris", "--pipeline-root", str(tmp_path / "root"),
         "--param", "version=1.3.0", "--param", f"model_store={tmp_path / 'store'}", "--param", f"repo_root={repo_clone}",
         "--param", "shipyard_bin=/nonexistent/shipyard"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2
    assert "shipyard executable not found: '/nonexistent/shipyard'" in done.stderr


@pytest.mark.parametrize(
    "params, message",
    [
        ([], "missing required pipeline input(s): version, model_store"),
        (["version=1.0", "model_store=/x", "seed=abc"], "--param seed='abc': not a valid Integer"),
        (["version=1.0", "model_store=/x", "regularization=abc"], "--param regularization='abc': not a valid Float"),
        (["version=1.0", "model_store=/x", "git_commit=maybe"], "--param git_commit='maybe': not a valid Boolean"),
        (["version=1.0", "model_store=/x", "colour=red"], "--param 'colour': the pipeline has no such input"),
    ],
)
def test_bad_parameters_are_refused_before_running(kfp_env, tmp_path: Path, params: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    args = [a for p in params for a in ("--param", p)]
    done = subprocess.run(
        [str(kfp_env.python), str(REPO_ROOT / "pipelines" / "kfp_tool.py"), "run", "iris", "--pipeline-root", str(tmp_path), *args],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert not any(tmp_path.iterdir())
