"""A model.json written by the training pins is served alike by the serving pins.

tabular-xgb trains with xgboost 2.1.4 (.venv-tabular-xgb, the training
image) and is served by Seldon 1.17.1's XGBOOST_SERVER under protocol v2:
seldonio/mlserver:1.3.5-xgboost, MLServer 1.3.5 with xgboost 1.7.x
(.venv-mlserver: 1.7.6). This trains with the real training code
(pipelines/tabular-xgb/train.py), predicts every row of the data set in the
training environment, then loads the same file in the serving environment
with MLServer's own runtime class (mlserver_xgboost.XGBoostModel: its load()
and its predict() through the V2 codecs, as the server runs them) and
requires the same classes and the same probabilities.

It also pins down what the runtime loads the file as: MLServer picks
XGBClassifier only when model.json records the scikit-learn estimator type
(the wrapper's save_model); a Booster's save_model loads as an XGBRegressor,
whose `predict` answers probabilities and which refuses `predict_proba`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shipyard import envs
from shipyard.envs import SideEnv

pytestmark = pytest.mark.sidecar_env

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_PY = REPO_ROOT / "pipelines" / "tabular-xgb" / "train.py"

TRAINING_SIDE = r'''
import json, sys
import xgboost
from sklearn.datasets import load_breast_cancer
model = xgboost.XGBClassifier()
model.load_model(sys.argv[1])
x = load_breast_cancer().data
print(json.dumps({"xgboost": xgboost.__version__, "predict": model.predict(x).tolist(),
                  "predict_proba": model.predict_proba(x).tolist()}))
'''

SERVING_SIDE = r'''
import asyncio, json, sys
import mlserver, xgboost
from mlserver.settings import ModelParameters, ModelSettings
from mlserver.types import InferenceRequest, RequestInput, RequestOutput
from mlserver_xgboost import XGBoostModel
from sklearn.datasets import load_breast_cancer

async def main():
    runtime = XGBoostModel(ModelSettings(name="classifier", implementation=XGBoostModel,
                                         parameters=ModelParameters(uri=sys.argv[1])))
    await runtime.load()
    x = load_breast_cancer().data
    request = InferenceRequest(
        inputs=[RequestInput(name="input-0", shape=list(x.shape), datatype="FP64", data=x.flatten().tolist())],
        outputs=[RequestOutput(name="predict"), RequestOutput(name="predict_proba")])
    response = await runtime.predict(request)
    outputs = {o.name: o for o in response.outputs}
    proba = outputs["predict_proba"]
    width = proba.shape[1]
    values = list(proba.data)
    print(json.dumps({"xgboost": xgboost.__version__, "mlserver": mlserver.__version__,
                      "loaded_as": type(runtime._model).__name__,
                      "predict": [int(v) for v in outputs["predict"].data],
                      "predict_proba": [values[i:i + width] for i in range(0, len(values), width)]}))

asyncio.run(main())
'''


def run_json(python: Path, script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SideEnv]:
    """model.json from train.py in .venv-tabular-xgb (the job's command, default parameters)."""
    xgb_env = envs.ensure("tabular-xgb", envs.toolkit_root()).env
    folder = tmp_path_factory.mktemp("trained") / "model"
    done = subprocess.run([str(xgb_env.python), str(TRAIN_PY), "train", "--max-depth=3", "--eta=0.1",
                           "--n-estimators=100", "--seed=42", "--device=cpu", f"--model-dir={folder}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return folder, xgb_env


def test_the_serving_runtime_predicts_what_training_predicted(trained: tuple[Path, SideEnv]) -> None:
    folder, xgb_env = trained
    mlserver_env = envs.ensure("mlserver", envs.toolkit_root()).env
    training = run_json(xgb_env.python, TRAINING_SIDE, str(folder / "model.json"))
    serving = run_json(mlserver_env.python, SERVING_SIDE, str(folder))  # the folder, as the runtime finds model.json
    assert training["xgboost"] == "2.1.4"
    assert (serving["mlserver"], serving["xgboost"].rsplit(".", 1)[0]) == ("1.3.5", "1.7")
    assert serving["loaded_as"] == "XGBClassifier"
    assert len(training["predict"]) == 569 and set(training["predict"]) == {0, 1}
    assert serving["predict"] == training["predict"]
    # the same trees summed in the same float32 arithmetic: equal to the last bit
    assert serving["predict_proba"] == training["predict_proba"]


def test_a_booster_saved_model_would_be_served_as_a_regressor(trained: tuple[Path, SideEnv], tmp_path: Path) -> None:
    """Why train.py saves with the scikit-learn wrapper: the same trees saved
    by the Booster lose the estimator type, and MLServer 1.3.5 then serves
    probabilities from `predict` and refuses `predict_proba`."""
    folder, xgb_env = trained
    mlserver_env = envs.ensure("mlserver", envs.toolkit_root()).env
    booster = tmp_path / "booster"
    booster.mkdir()
    subprocess.run([str(xgb_env.python), "-c", "import sys, xgboost; m = xgboost.XGBClassifier(); "
                    "m.load_model(sys.argv[1]); m.get_booster().save_model(sys.argv[2])",
                    str(folder / "model.json"), str(booster / "model.json")], check=True, timeout=120)
    done = subprocess.run([str(mlserver_env.python), "-c", SERVING_SIDE, str(booster)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    assert "XGBRegressor models do not support 'predict_proba" in done.stderr
