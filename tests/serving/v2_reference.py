"""Train the V2 tests' XGBoost model and write what each model itself predicts.

Runs inside .venv-mlserver (xgboost 1.7.6, scikit-learn 1.5.2: the versions
MLServer serves with), so the expected answers come from the very
libraries the server loads the files with, in this process, not through
any server.

- XGBOOST_DIR/model.json: an XGBClassifier (20 trees of depth 3) on
  scikit-learn's bundled breast-cancer data (569 rows, 30 features; no
  download), saved with the sklearn wrapper's save_model, which records the
  estimator type mlserver_xgboost needs to load it as a classifier.
- SKLEARN_DIR/model.joblib: the reference iris estimator, written by
  reference_iris.py (tools/shipyard/serving/runtime) in this same process.
- OUTPUT (JSON): for each model, the rows to send and its own predict() and
  predict_proba() for them.

Usage: python v2_reference.py RUNTIME_DIR XGBOOST_DIR SKLEARN_DIR OUTPUT
"""

from __future__ import annotations

import json
import os
import sys

import joblib  # type: ignore[import-not-found]
import xgboost as xgb  # type: ignore[import-not-found]
from sklearn.datasets import load_breast_cancer, load_iris  # type: ignore[import-not-found]


def main(runtime_dir: str, xgboost_dir: str, sklearn_dir: str, output: str) -> int:
    sys.path.insert(0, runtime_dir)
    import reference_iris  # type: ignore[import-not-found]

    os.makedirs(sklearn_dir, exist_ok=True)
    reference_iris.main(os.path.join(sklearn_dir, "model.joblib"))
    data = load_breast_cancer()
    model = xgb.XGBClassifier(n_estimators=20, max_depth=3, learning_rate=0.3, random_state=7, n_jobs=1)
    model.fit(data.data, data.target)
    os.makedirs(xgboost_dir, exist_ok=True)
    model.save_model(os.path.join(xgboost_dir, "model.json"))
    xgb_rows = data.data[[0, 19, 100, 300, 568]]
    # Predict with a fresh load of the saved file: what the server reads, not the object in memory.
    loaded = xgb.XGBClassifier()
    loaded.load_model(os.path.join(xgboost_dir, "model.json"))

    iris = load_iris()
    estimator = joblib.load(os.path.join(sklearn_dir, "model.joblib"))
    iris_rows = iris.data[[0, 60, 146]]
    expected = {
        "xgboost": {"rows": xgb_rows.tolist(), "predict": loaded.predict(xgb_rows).tolist(),
                    "predict_proba": loaded.predict_proba(xgb_rows).tolist(), "n_features": int(data.data.shape[1])},
        "sklearn": {"rows": iris_rows.tolist(), "predict": [str(v) for v in estimator.predict(iris_rows)],
                    "predict_proba": estimator.predict_proba(iris_rows).tolist(),
                    "classes": [str(c) for c in estimator.classes_]},
    }
    with open(output, "w", encoding="utf-8") as fh:
        json.dump(expected, fh)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print("usage: v2_reference.py RUNTIME_DIR XGBOOST_DIR SKLEARN_DIR OUTPUT", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(*sys.argv[1:]))
