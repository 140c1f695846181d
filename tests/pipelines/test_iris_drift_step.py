"""The iris pipeline's drift step under kfp's local runner, with a real store.

A model that declares spec.drift gets its detector built from the training
split (alibi-detect in .venv-drift, through `shipyard drift build`) and
published at <store>/<model>/drift/<version>/ once register has recorded
the version (a refused registration publishes no detector); a model that
declares none registers exactly as before, and the step says why it built
nothing. Runs register into a clone (repo_clone), never here."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.sidecar_env

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPYARD = str(REPO_ROOT / ".venv" / "bin" / "shipyard")
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _run(clone: Path, store: Path, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPYARD, "pipeline", "run", "iris", "--repo", str(clone), "--version", version, "--model-store", str(store),
         "--param", "git_commit=false", "--pipeline-root", str(store.parent / f"root-{version}")],
        capture_output=True, text=True, timeout=600,
    )


def _log(store: Path, version: str) -> str:
    """The run's log, where kfp's local runner writes what the steps print."""
    return (store.parent / f"root-{version}" / "run.log").read_text(encoding="utf-8")


def _train_split(store: Path, version: str) -> Path:
    found = sorted((store.parent / f"root-{version}").glob("iris-*/preprocess/train"))
    assert len(found) == 1, found
    return found[0]


def _versions(clone: Path) -> list[str]:
    doc = yaml.safe_load((clone / "models" / "iris" / "model.yaml").read_text(encoding="utf-8"))
    return [str(v["version"]) for v in doc["spec"]["versions"]]


def test_the_detector_is_built_from_the_training_rows_and_published(kfp_env, repo_clone: Path,  # type: ignore[no-untyped-def]
                                                                    tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = _run(repo_clone, store, "1.4.0")
    assert done.returncode == 0, done.stderr[-3000:]
    detector = store / "iris" / "drift" / "1.4.0"
    assert {p.name for p in detector.iterdir()} >= {"shipyard-drift.json", "config.toml", "x_ref.npy"}
    meta = json.loads((detector / "shipyard-drift.json").read_text(encoding="utf-8"))
    train = _train_split(store, "1.4.0")
    # built from exactly the training split, with model.yaml's spec.drift
    assert meta["referenceSha256"] == hashlib.sha256(train.read_bytes()).hexdigest()
    assert meta["referenceRows"] == 120 and meta["features"] == FEATURES
    assert meta["kind"] == "KSDrift" and meta["pValue"] == 0.05
    assert (f"drift detector of iris 1.4.0 (KSDrift, p-value 0.05, 120 reference rows) published "
            f"{detector.as_uri()}") in _log(store, "1.4.0")
    # the detector sits beside the version's folder, never in it (the storage
    # initializer downloads that folder into the model server)
    assert sorted(p.name for p in (store / "iris" / "1.4.0").iterdir()) == ["model.joblib"]
    assert "1.4.0" in _versions(repo_clone)
    # after register: only a version model.yaml took gets a detector
    log = _log(store, "1.4.0")
    assert log.index("Task \x1b[96m'register'\x1b[0m finished") < log.index("Executing task \x1b[96m'drift-detector'")
    # a re-run of the same training finds the same detector already published
    again = subprocess.run([SHIPYARD, "drift", "build", "iris", "--version", "1.4.0", "--reference", str(train),
                            "--store", str(store), "--repo", str(repo_clone)], capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0 and "already in the store" in again.stdout, again.stderr


def test_a_model_without_spec_drift_registers_and_says_why_no_detector(kfp_env, repo_clone: Path,  # type: ignore[no-untyped-def]
                                                                      tmp_path: Path) -> None:
    model_yaml = repo_clone / "models" / "iris" / "model.yaml"
    text = model_yaml.read_text(encoding="utf-8")
    without = re.sub(r"\n  drift:\n(    .*\n)+", "\n", text)
    assert without != text and "drift:" not in without.split("versions:")[0]
    model_yaml.write_text(without, encoding="utf-8")
    git = ["git", "-C", str(repo_clone), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "commit", "-q", "-am", "iris without spec.drift"], check=True)
    store = tmp_path / "store"
    done = _run(repo_clone, store, "1.5.0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert ("no drift detector for iris 1.5.0: models/iris/model.yaml declares no spec.drift "
            "(add it to build one from the training data, docs/monitoring.md)") in _log(store, "1.5.0")
    assert "drift build" not in _log(store, "1.5.0") and not (store / "iris" / "drift").exists()
    assert (store / "iris" / "1.5.0" / "model.joblib").is_file() and "1.5.0" in _versions(repo_clone)


def test_a_refused_registration_publishes_no_detector(kfp_env, repo_clone: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    done = _run(repo_clone, store, "1.0.0")  # 1.0.0 is registered already, at Seldon's public URI
    assert done.returncode == 2 and "step 'register' failed" in done.stderr, done.stderr[-2000:]
    assert not (store / "iris" / "drift").exists()
    assert "Executing task \x1b[96m'drift-detector'" not in _log(store, "1.0.0")
