"""Write a reference iris artifact: the estimator pipelines/iris trains, as model.joblib.

Runs inside .venv-seldon. Contract tests and the serving benchmark need a
real SKLEARN_SERVER artifact without running the kfp pipeline (a different
environment); this fits the same StandardScaler + LogisticRegression on the
species names, on all 150 bundled rows (no download).

Usage: python reference_iris.py OUTPUT_FILE
"""

from __future__ import annotations

import sys

import joblib  # type: ignore[import-not-found]
from sklearn.datasets import load_iris  # type: ignore[import-not-found]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-not-found]
from sklearn.pipeline import Pipeline  # type: ignore[import-not-found]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-not-found]


def main(output: str) -> int:
    iris = load_iris()
    labels = iris.target_names[iris.target]
    model = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression(C=3.0, max_iter=1000, random_state=42))])
    model.fit(iris.data, labels)
    joblib.dump(model, output)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: reference_iris.py OUTPUT_FILE", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1]))
