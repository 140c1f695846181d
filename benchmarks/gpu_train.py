"""GPU check for the tabular-xgb training code: train a few rounds and predict on CUDA.

Run it with the training environment's Python (tools/envs/tabular-xgb.txt,
whose xgboost wheel is the CUDA build on Linux x86_64):

    .venv/bin/python -m shipyard.envs tabular-xgb        # once
    .venv-tabular-xgb/bin/python benchmarks/gpu_train.py [--rounds 50] [--repeat 3]

With an NVIDIA GPU and driver present it trains the model of
pipelines/tabular-xgb/train.py (same data, same parameters) with
device="cuda" and with device="cpu", predicts on both, and prints the times
and whether the two models agree. Without CUDA (no driver, no GPU, or an
xgboost built without it) it prints why it skips and exits 0: it is a
check to run on a GPU machine, never part of the test suite's pass/fail.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TRAIN_PY = Path(__file__).resolve().parents[1] / "pipelines" / "tabular-xgb" / "train.py"


def skip_reason() -> str | None:
    """Why CUDA training cannot run here, or None when it can."""
    try:
        import xgboost
    except ImportError:
        return "xgboost is not importable: run this with .venv-tabular-xgb/bin/python"
    if not xgboost.build_info().get("USE_CUDA"):
        return f"xgboost {xgboost.__version__} is built without CUDA"
    if shutil.which("nvidia-smi") is None:
        return "no NVIDIA driver: nvidia-smi is not on PATH"
    probe = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    if probe.returncode != 0 or "GPU" not in probe.stdout:
        return f"nvidia-smi lists no GPU: {(probe.stderr or probe.stdout).strip() or 'exit ' + str(probe.returncode)}"
    return None


def load_train_module() -> Any:
    spec = importlib.util.spec_from_file_location("tabular_xgb_train", TRAIN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50, help="boosting rounds (n_estimators)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per device (the best is printed)")
    args = parser.parse_args(argv)
    reason = skip_reason()
    if reason is not None:
        print(f"skipped: {reason}")
        return 0
    import numpy as np
    import xgboost

    train = load_train_module()
    split = train.load_split(42)
    print(f"xgboost {xgboost.__version__}; {subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True).stdout.strip()}")
    results = {}
    for device in ("cuda", "cpu"):
        times, predict_times = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            model, metrics = train.fit(train.Params(n_estimators=args.rounds, device=device), split)
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            proba = model.predict_proba(split.x_test)[:, 1]
            predict_times.append(time.perf_counter() - started)
        results[device] = proba
        config = model.get_booster().save_config()
        on = "cuda" if '"device":"cuda' in config.replace(" ", "") else "cpu"
        print(f"{device}: fit+score {min(times) * 1000:.1f} ms, predict {min(predict_times) * 1000:.2f} ms "
              f"({len(split.y_test)} rows), booster device {on}, test accuracy {metrics['test_accuracy']}, "
              f"test logloss {metrics['test_logloss']}")
    difference = float(np.max(np.abs(results["cuda"] - results["cpu"])))
    print(f"largest difference between CUDA and CPU probabilities: {difference:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
