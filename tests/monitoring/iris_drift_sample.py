"""The iris rows the drift tests fit a detector on and judge: the training
split exactly as the pipeline makes it (test_size 0.2, seed 42, stratified),
written as CSV, and the held-out measurements as JSON. Run in the drift
environment's Python: ``python -c SAMPLE_SCRIPT TRAIN.csv HELD_OUT.json``."""

SAMPLE_SCRIPT = """
import csv, json, sys
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
iris = load_iris()
rows = [[*(f"{v:.1f}" for v in x), iris.target_names[t]] for x, t in zip(iris.data, iris.target)]
train, test = train_test_split(rows, test_size=0.2, random_state=42, stratify=[r[-1] for r in rows])
with open(sys.argv[1], "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
    w.writerows(train)
json.dump([[float(v) for v in r[:4]] for r in test], open(sys.argv[2], "w"))
"""
