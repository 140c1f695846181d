"""`shipyard publish` uploads the file the model's runtime loads.

The name under a version's folder follows model.yaml's serving section
through shipyard.serving.runtimes (the table `serve` loads from too):
model.json / model.ubj / model.bst for XGBOOST_SERVER under protocol v2,
model.bst only under the Seldon protocol, model.joblib for SKLEARN_SERVER.
A folder that holds none of those is refused with the runtime and the files
it loads named, before anything is written. Local-folder stores: the S3
half of publish is tests/serving/test_model_store.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.errors import ShipyardError
from shipyard.repo import Repository
from shipyard.serving.publish import publish
from shipyard.serving.store import parse_store

MODEL_YAML = """\
apiVersion: shipyard.dev/v1alpha1
kind: Model
metadata:
  name: {name}
spec:
  owner: ml-platform@example.com
  serving:
    implementation: {implementation}
    protocol: {protocol}
    namespace: models
    replicas: {{dev: 1}}
  versions: []
"""


def make_repo(tmp_path: Path, models: dict[str, tuple[str, str]]) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "shipyard.yaml").write_text("repository: {url: https://example.com/r.git}\n")
    for name, (implementation, protocol) in models.items():
        (root / "models" / name).mkdir()
        (root / "models" / name / "model.yaml").write_text(
            MODEL_YAML.format(name=name, implementation=implementation, protocol=protocol))
    return root


def trained(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "trained"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_bytes(f"bytes of {name}".encode())
    return folder


REPO_MODELS = {"xgb": ("XGBOOST_SERVER", "v2"), "xgb-seldon": ("XGBOOST_SERVER", "seldon"),
               "sk": ("SKLEARN_SERVER", "seldon"), "sk-v2": ("SKLEARN_SERVER", "v2"), "ml": ("MLFLOW_SERVER", "v2")}


@pytest.mark.parametrize(("model", "files", "stored"), [
    ("xgb", ["model.json"], "model.json"),       # MLServer's XGBoost runtime: the name keeps the format
    ("xgb", ["model.ubj"], "model.ubj"),
    ("xgb", ["booster.json"], "model.json"),     # same suffix, the runtime's name
    ("xgb-seldon", ["model.bst"], "model.bst"),  # seldonio/xgboostserver loads model.bst only
    ("sk", ["model.joblib"], "model.joblib"),
    ("sk", ["classifier.pkl"], "model.joblib"),  # one name: a joblib model of any name
    ("sk-v2", ["model.pkl"], "model.pkl"),       # mlserver_sklearn finds model.pkl too
])
def test_the_stored_name_is_the_runtimes(tmp_path: Path, model: str, files: list[str], stored: str) -> None:
    root = make_repo(tmp_path, REPO_MODELS)
    store = tmp_path / "store"
    folder = trained(tmp_path, *files)
    source = folder if files[0] == stored else folder / files[0]  # a folder holds the runtime's names only
    published = publish(Repository.load(root), parse_store(str(store), "--store"), model, "1.0.0", source)
    assert published.object_uri == f"file://{store}/{model}/1.0.0/{stored}"
    assert [p.name for p in (store / model / "1.0.0").iterdir()] == [stored]
    assert (store / model / "1.0.0" / stored).read_bytes() == (folder / files[0]).read_bytes()


def test_a_folder_without_the_runtimes_file_is_refused_naming_it(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A joblib pickle in a folder handed to an XGBOOST_SERVER model: the
    message names the runtime, the files it loads and what the folder holds;
    exit 2, no traceback, and the store is left untouched."""
    root = make_repo(tmp_path, REPO_MODELS)
    store = tmp_path / "store"
    folder = trained(tmp_path, "model.joblib", "metrics.json")
    code = main(["publish", "xgb", "--version", "1.0.0", "--from", str(folder), "--store", str(store),
                 "--repo", str(root)])
    err = capsys.readouterr().err
    assert code == 2
    assert (f"{folder} holds none of the files XGBOOST_SERVER under protocol v2 loads "
            "(model.bst, model.json or model.ubj); it holds metrics.json, model.joblib") in err
    assert "Traceback" not in err and not store.exists()


@pytest.mark.parametrize(("model", "files", "text"), [
    ("xgb-seldon", ["model.json"], "holds none of the files XGBOOST_SERVER under protocol seldon loads (model.bst)"),
    ("xgb", [], "holds none of the files XGBOOST_SERVER under protocol v2 loads (model.bst, model.json or model.ubj); "
                "it holds nothing"),
    ("xgb", ["model.json", "model.bst"], "holds more than model.bst (model.json); only model.bst is published"),
])
def test_folder_refusals(tmp_path: Path, model: str, files: list[str], text: str) -> None:
    root = make_repo(tmp_path, REPO_MODELS)
    with pytest.raises(ShipyardError) as caught:
        publish(Repository.load(root), parse_store(str(tmp_path / "store"), "--store"), model, "1.0.0",
                trained(tmp_path, *files))
    assert text in caught.value.message
    assert not (tmp_path / "store").exists()


def test_an_xgboost_file_of_another_format_is_refused(tmp_path: Path) -> None:
    root = make_repo(tmp_path, REPO_MODELS)
    source = trained(tmp_path, "model.pickle") / "model.pickle"
    with pytest.raises(ShipyardError) as caught:
        publish(Repository.load(root), parse_store(str(tmp_path / "store"), "--store"), "xgb", "1.0.0", source)
    assert caught.value.message == (f"{source}: XGBOOST_SERVER under protocol v2 loads model.bst, model.json or "
                                    "model.ubj, and the format follows the name")


def test_an_mlflow_model_is_published_by_mlflow_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, REPO_MODELS)
    folder = trained(tmp_path, "MLmodel")
    assert main(["publish", "ml", "--version", "1.0.0", "--from", str(folder), "--store", str(tmp_path / "s"),
                 "--repo", str(root), "--format", "json"]) == 2
    err = capsys.readouterr().err
    assert "ml is served by MLFLOW_SERVER, whose artifact is an MLflow model folder, not one file" in err
    assert "shipyard mlflow log ml" in err


def test_json_output_names_the_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, REPO_MODELS)
    store = tmp_path / "store"
    assert main(["publish", "xgb", "--version", "2.0.0", "--from", str(trained(tmp_path, "model.json")),
                 "--store", str(store), "--repo", str(root), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["object"] == f"file://{store}/xgb/2.0.0/model.json" and out["uri"] == f"file://{store}/xgb/2.0.0"
