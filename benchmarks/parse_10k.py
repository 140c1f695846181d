"""The check pipeline end to end against a bare YAML parse, on one large file.

Writes 10,000 Deployments (``--objects``) into one file of a fresh copy of
this repository (benchmarks/single_file.py's corpus), then prints, all
measured in this run on this machine:

- bare PyYAML ``yaml.load_all(text, Loader=yaml.CSafeLoader)`` of the
  text, in CPU seconds of this process (``time.process_time``), best of
  ``--repeat``;
- ``validate(repo, [FILE])`` in this process, every check on (the file
  read, loaded, schema-validated, every policy and cross-reference check,
  waivers): first run (schemas compiled on the way) and best warm run, in
  CPU seconds, each run interleaved with a parse so machine load is shared;
- ``shipyard validate FILE --format json`` as a user runs it (a new
  process, run first, while this one is small): its CPU seconds (user +
  system, from wait4), wall seconds and peak resident memory against the
  size of the file;
- kubernetes-validate's ``validate(..., strict=True)`` on ``--sample``
  documents (it re-reads its schema files on every call, so the whole file
  would take minutes), scaled to the whole file;
- the ratios: ours / bare parse (goal: below 1), kubernetes-validate / ours
  (goal: at least 50), peak memory / input (goal: at most 10).

Run: .venv/bin/python benchmarks/parse_10k.py [--objects 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from single_file import BIN, deployments, environment, fresh_copy  # noqa: E402

KUBE_VERSION = "1.33.0"


def bare_parse(text: str) -> float:
    started = time.process_time()
    docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    spent = time.process_time() - started
    del docs
    gc.collect()
    return spent


def in_process(repo_root: Path, name: str) -> tuple[float, int, int]:
    """(CPU seconds, objects, findings) of one validate of the file."""
    from shipyard.repo import Repository
    from shipyard.validate import validate

    started = time.process_time()
    report = validate(Repository.find(repo_root), [name], cwd=repo_root)
    spent = time.process_time() - started
    objects, findings = report.object_count, len(report.findings)
    del report
    gc.collect()
    return spent, objects, findings


def as_a_user(repo_root: Path, name: str) -> tuple[float, float, int, int]:
    """(CPU seconds, wall seconds, peak KiB, exit code) of `shipyard validate FILE`."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "shipyard"), "validate", name, "--format", "json"], cwd=repo_root,
                            env=environment(mirror=False), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def kubernetes_validate_seconds(text: str, sample: int) -> tuple[float, int]:
    """CPU seconds kubernetes-validate takes per object (parse + strict
    validate, as its command line does), on ``sample`` documents."""
    import kubernetes_validate  # type: ignore[import-untyped]

    docs = text.split("---\n")
    step = max(1, len(docs) // sample)
    chosen = docs[::step][:sample]
    started = time.process_time()
    for doc in chosen:
        body = yaml.load(doc, Loader=yaml.CSafeLoader)
        try:
            kubernetes_validate.validate(body, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError:
            pass
    return (time.process_time() - started) / len(chosen), len(chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=100, help="documents given to kubernetes-validate")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}; CPU seconds (time.process_time) unless said otherwise")
    with tempfile.TemporaryDirectory(prefix="shipyard-parse-") as tmp:
        root = fresh_copy(Path(tmp) / "repo")
        text = deployments(args.objects)
        name = "big.yaml"
        (root / name).write_text(text, encoding="utf-8")
        size = len(text.encode())
        print(f"{args.objects:,} Deployments in one file: {size / 1e6:.1f} MB")

        # First, while this process is small: a child's peak memory counts
        # the pages it shares with its parent between fork and exec.
        user = [as_a_user(root, name) for _ in range(args.repeat)]
        cpu, wall, peak, code = min(user)
        parses, runs = [], []
        first = None
        for k in range(args.repeat + 1):
            parses.append(bare_parse(text))
            spent, objects, findings = in_process(root, name)
            if k == 0:
                first = spent
            else:
                runs.append(spent)
        assert first is not None
        parse = min(parses)
        warm = min(runs) if runs else first
        print(f"  bare CSafeLoader parse:              {parse:6.2f}s (best of {len(parses)})")
        print(f"  validate FILE in-process, first run: {first:6.2f}s = {first / parse:.2f}x the parse")
        print(f"  validate FILE in-process, warm:      {warm:6.2f}s = {warm / parse:.2f}x the parse "
              f"({objects:,} objects, {findings} findings)")
        print(f"  shipyard validate FILE (new process): {cpu:5.2f}s CPU = {cpu / parse:.2f}x the parse, wall "
              f"{min(u[1] for u in user):.2f}s, exit {code}; peak memory {max(u[2] for u in user) / 1024:.0f} MB "
              f"= {max(u[2] for u in user) * 1024 / size:.1f}x the file")
        per_object, sampled = kubernetes_validate_seconds(text, args.sample)
        theirs = per_object * args.objects
        print(f"  kubernetes-validate: {1 / per_object:,.1f} objects/s on {sampled} documents = {theirs:,.0f}s "
              f"for the file: {theirs / warm:,.0f}x our warm in-process run, {theirs / cpu:,.0f}x the new process")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
