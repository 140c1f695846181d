"""Build a version's drift detector from its training data (runs in .venv-drift).

A script, not a toolkit module: it imports alibi-detect, which lives only in
the side environment .venv-drift (tools/envs/drift.txt), so the toolkit
starts it as a separate process (shipyard.drift.detector.build_detector)
and never imports it. It uses the standard library, numpy and alibi-detect
only, so the drift image (Dockerfile beside it) can run it as well.

Input: the reference sample, a CSV file with a header row (the pipeline's
training split); the columns named by --feature are the detector's
features, in that order, and must all be numbers. Output: the detector as
alibi_detect.saving.save_detector writes it (config.toml and the reference
data as .npy), plus shipyard-drift.json saying what it was built from. The
folder appears complete or not at all: it is written beside --out and
renamed into place.

    python build.py --reference train.csv --feature sepal_length ... \\
        --kind KSDrift --p-value 0.05 --out detector/

Prints one JSON object (what was built) on stdout. Bad input: a message on
stderr naming the file and line, exit status 2, nothing written.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

METADATA_FILE = "shipyard-drift.json"
KINDS = ("KSDrift", "TabularDrift")


class BadInput(Exception):
    """Input the detector cannot be built from; the message says what to fix."""


def read_reference(path: Path, features: list[str]) -> list[list[float]]:
    """The numeric columns ``features`` of the CSV at ``path``, row by row."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the reference sample: {exc.strerror}") from None
    if not rows:
        raise BadInput(f"{path}: the reference sample is empty (want a header row and data rows)")
    header = rows[0]
    missing = [f for f in features if f not in header]
    if missing:
        raise BadInput(f"{path}:1: no column {', '.join(missing)} (the header has {', '.join(header)}); "
                       "name the training data's feature columns (spec.drift.features in model.yaml)")
    columns = [header.index(f) for f in features]
    sample: list[list[float]] = []
    for number, row in enumerate(rows[1:], start=2):
        try:
            values = [float(row[c]) for c in columns]
        except (ValueError, IndexError):
            raise BadInput(f"{path}:{number}: want a number in every feature column, got {row}") from None
        if any(math.isnan(v) or math.isinf(v) for v in values):
            raise BadInput(f"{path}:{number}: NaN or infinite value in {row}")
        sample.append(values)
    if len(sample) < 10:
        raise BadInput(f"{path}: {len(sample)} data rows; a drift test needs a reference sample of at least 10")
    return sample


def build(reference: Path, features: list[str], kind: str, p_value: float, out: Path) -> dict[str, Any]:
    """Fit the detector on the reference sample and save it at ``out``."""
    if kind not in KINDS:
        raise BadInput(f"unknown detector kind {kind!r}: choose one of {', '.join(KINDS)}")
    if not 0.0 < p_value < 1.0:
        raise BadInput(f"p-value {p_value} must be between 0 and 1 (e.g. 0.05)")
    if out.exists():
        raise BadInput(f"{out} already exists: a version's detector is written once; choose an empty path")
    sample = read_reference(reference, features)

    # transformers (an alibi-detect requirement) announces that it found no
    # deep-learning backend; none is wanted here.
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import numpy as np  # type: ignore[import-not-found]  # .venv-drift only
    from alibi_detect.cd import KSDrift, TabularDrift  # type: ignore[import-not-found]
    from alibi_detect.saving import save_detector  # type: ignore[import-not-found]

    x_ref = np.asarray(sample, dtype=np.float32)
    if kind == "KSDrift":
        detector = KSDrift(x_ref, p_val=p_value, correction="bonferroni")
    else:
        detector = TabularDrift(x_ref, p_val=p_value, correction="bonferroni")
    metadata = {
        "kind": kind,
        "pValue": p_value,
        "correction": "bonferroni",
        "features": features,
        "referenceRows": len(sample),
        "referenceSha256": hashlib.sha256(reference.read_bytes()).hexdigest(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    try:
        (staging / "tree").mkdir()  # made here: save_detector logs a warning when it makes it
        save_detector(detector, staging / "tree")
        (staging / "tree" / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n",
                                                      encoding="utf-8")
        os.rename(staging / "tree", out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {**metadata, "path": str(out)}


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, required=True, help="CSV with a header row: the training data")
    parser.add_argument("--feature", action="append", required=True, help="a feature column, in order (repeat)")
    parser.add_argument("--kind", default="KSDrift", help="KSDrift (default) or TabularDrift")
    parser.add_argument("--p-value", type=float, default=0.05, help="the detector's p-value (default 0.05)")
    parser.add_argument("--out", type=Path, required=True, help="the folder to create")
    args = parser.parse_args(argv)
    try:
        built = build(args.reference, args.feature, args.kind, args.p_value, args.out)
    except BadInput as exc:
        _fail(str(exc))
    print(json.dumps(built, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
