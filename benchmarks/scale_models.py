"""How the commands grow with the number of models: 1, 50 and 200.

Builds, in a temporary copy of this repository, a repository with N models
pinned in every environment (N-1 copies of models/iris, each with its own
name, SeldonDeployment, alerts and pins; the copies are what `shipyard new
model` + register + promote would leave, written directly so that building
200 models takes seconds), commits it, and times as a user runs them (one
`shipyard` process each, wall clock):

- validate with a cold render cache and again warm;
- --changed-since HEAD after a one-model change (an annotation in one pin), cold
  and warm;
- promote of one model's new version to dev (--no-commit);
- status of every model.

Prints a table and the growth from 1 to 50 to 200 (not a test).

Run: SHIPYARD_MIRROR=../shared/mirror .venv/bin/python benchmarks/scale_models.py [N ...]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPYARD = str(Path(sys.executable).parent / "shipyard")
IGNORE = shutil.ignore_patterns(".git", ".venv", ".venv-*", ".shipyard-cache", "__pycache__", ".pytest_cache")
TEMPLATE = "iris"
NAME = re.compile(r"\biris\b")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args], cwd=root,
                   check=True, capture_output=True)


def copy_tree_renamed(source: Path, dest: Path, name: str) -> None:
    """``source`` copied to ``dest`` with the model's name replaced in every file."""
    for path in source.rglob("*"):
        target = dest / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(NAME.sub(name, path.read_text(encoding="utf-8")), encoding="utf-8")


def environments(root: Path) -> list[Path]:
    return sorted(p.parent for p in (root / "overlays").glob(f"*/models/{TEMPLATE}/kustomization.yaml"))


def add_models(root: Path, count: int) -> list[str]:
    """count-1 copies of the template model, pinned wherever it is pinned."""
    names = [f"{TEMPLATE}-{k:03d}" for k in range(1, count)]
    for name in names:
        copy_tree_renamed(root / "models" / TEMPLATE, root / "models" / name, name)
        for pin in environments(root):
            copy_tree_renamed(pin, pin.parent / name, name)
    for listing in sorted((root / "overlays").glob("*/models/kustomization.yaml")):
        text = listing.read_text(encoding="utf-8")
        if f"- {TEMPLATE}\n" in text:
            text = text.replace(f"- {TEMPLATE}\n", f"- {TEMPLATE}\n" + "".join(f"- {n}\n" for n in names), 1)
            listing.write_text(text, encoding="utf-8")
    return names


def run(root: Path, *args: str, cold: bool = False) -> tuple[float, subprocess.CompletedProcess[str]]:
    if cold:
        shutil.rmtree(root / ".shipyard-cache", ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.run([SHIPYARD, *args], cwd=root, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started, proc


def must(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def objects_checked(proc: subprocess.CompletedProcess[str]) -> int:
    found = re.search(r"checked (\d+) objects", proc.stdout + proc.stderr)
    return int(found.group(1)) if found else 0


def measure(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"shipyard-scale-{count}-") as tmp:
        root = Path(tmp) / "repo"
        shutil.copytree(ROOT, root, ignore=IGNORE)
        names = add_models(root, count)
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"{count} models")
        figures: dict[str, float] = {"models": count}

        seconds, proc = run(root, "validate", cold=True)
        must(proc, "cold validate")
        figures["objects"] = objects_checked(proc)
        figures["validate cold"] = seconds
        seconds, proc = run(root, "validate")
        must(proc, "warm validate")
        figures["validate warm"] = seconds

        changed = names[len(names) // 2] if names else TEMPLATE
        pin = root / "overlays" / "staging" / "models" / changed / "kustomization.yaml"
        pin.write_text(pin.read_text(encoding="utf-8") + "commonAnnotations:\n  bench: one-model-change\n",
                       encoding="utf-8")
        seconds, proc = run(root, "validate", "--changed-since", "HEAD", cold=True)
        must(proc, "--changed-since (cold)")
        figures["changed-since cold"] = seconds
        seconds, proc = run(root, "validate", "--changed-since", "HEAD")
        must(proc, "--changed-since (warm)")
        figures["changed-since warm"] = seconds
        git(root, "checkout", "-q", "--", ".")

        metrics = root / "bench-metrics.json"
        metrics.write_text(json.dumps({"accuracy": 0.98, "f1_macro": 0.98}), encoding="utf-8")
        seconds, proc = run(root, "register", changed, "--version", "9.9.9", "--uri",
                            f"gs://bench-models/{changed}/9.9.9", "--metrics", str(metrics))
        must(proc, "register")
        figures["register"] = seconds
        metrics.unlink()
        git(root, "add", "-A")
        git(root, "commit", "-qm", "new version")
        seconds, proc = run(root, "promote", changed, "--to", "dev", "--version", "9.9.9", "--no-commit")
        must(proc, "promote")
        figures["promote"] = seconds
        git(root, "checkout", "-q", "--", ".")
        git(root, "clean", "-qfd", "overlays", "models")

        seconds, proc = run(root, "status", "--format", "json")
        must(proc, "status")
        figures["status"] = seconds
        return figures


def main(argv: list[str]) -> int:
    counts = [int(a) for a in argv] or [1, 50, 200]
    if not os.environ.get("SHIPYARD_MIRROR") and not (ROOT.parent / "shared" / "mirror").is_dir():
        print("note: no SHIPYARD_MIRROR; upstream charts and bases are fetched from the internet", file=sys.stderr)
    rows = []
    for count in counts:
        print(f"building and timing a repository with {count} model(s) ...", file=sys.stderr, flush=True)
        rows.append(measure(count))
    columns = ["models", "objects", "validate cold", "validate warm", "changed-since cold", "changed-since warm",
               "register", "promote", "status"]
    print(" | ".join(f"{c:>18}" for c in columns))
    for row in rows:
        print(" | ".join(f"{row[c]:>18.0f}" if c in ("models", "objects") else f"{row[c]:>16.2f} s" for c in columns))
    if len(rows) > 1:
        first = rows[0]
        print("growth against the first row (time ratio):")
        for row in rows[1:]:
            print(f"  {int(row['models'])} models: " + ", ".join(
                f"{c} x{row[c] / first[c]:.1f}" for c in columns[2:] if first[c]))
        print("growth against the row before (time ratio; the models ratio is linear growth):")
        for before, row in zip(rows[1:], rows[2:]):
            print(f"  {int(before['models'])} -> {int(row['models'])} models (x{row['models'] / before['models']:.1f}): "
                  + ", ".join(f"{c} x{row[c] / before[c]:.1f}" for c in columns[2:] if before[c]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
