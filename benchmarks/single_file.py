"""`shipyard validate FILE` as a user runs it: one process per check.

On a fresh copy of this repository (its files as git lists them, committed
or not: no render cache, no .venv), prints:

- one object, cold: a one-Deployment file checked in the fresh copy, with
  no render cache and no SHIPYARD_MIRROR (offline); the CRDs the
  repository installs come from its committed index (.shipyard/crds);
- one object, warm: the same after a full render filled the cache;
- with ``--without-index``: the same two with the index removed, which is
  how every file was checked before the index (every cluster entry point
  rendered first, from the mirror);
- start-up: ``shipyard --version`` and the import of the validate command,
  and kubernetes-validate's command line on the same one-object file;
- 10,000 Deployments in one file (``--objects``): wall time, objects per
  second, peak memory of the process against the file's size, and the
  ratios to a bare PyYAML C-loader parse of the same text and to
  kubernetes-validate's ``validate()`` (on a sample: it re-reads its schema
  files on every call, so the whole file would take minutes).

Every time is the best (and the median) of ``--repeat`` runs: a shared
machine adds noise, never speed. Python's bytecode cache is written as a
user's installation has it (PYTHONDONTWRITEBYTECODE is unset).

Run: .venv/bin/python benchmarks/single_file.py [--objects 10000] [--without-index]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MIRROR = os.environ.get("SHIPYARD_MIRROR") or str(ROOT.parent / "shared" / "mirror")

ONE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.0
"""


def fresh_copy(dest: Path) -> Path:
    """The repository's files as git lists them (tracked, and untracked but
    not ignored), copied: a fresh clone of the working tree."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = ROOT / rel
        if source.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return dest


def environment(*, mirror: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "SHIPYARD_MIRROR")}
    if mirror:
        env["SHIPYARD_MIRROR"] = MIRROR
    return env


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int]:
    """(wall seconds, peak resident memory in KiB, exit code) of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, proc.returncode


def best(cmd: list[str], cwd: Path, env: dict[str, str], repeat: int, before: list[str] | None = None) -> tuple[float, float, int]:
    """(best, median, peak KiB) over ``repeat`` runs; ``before`` runs ahead of each."""
    walls, peak = [], 0
    for _ in range(repeat):
        if before:
            subprocess.run(before, cwd=cwd, env=env, check=False, capture_output=True)
        wall, rss, _code = timed(cmd, cwd, env)
        walls.append(wall)
        peak = max(peak, rss)
    return min(walls), statistics.median(walls), peak


def line(label: str, figures: tuple[float, float, int]) -> None:
    print(f"  {label:<52} best {figures[0]:6.2f}s  median {figures[1]:6.2f}s")


def deployments(count: int) -> str:
    docs = []
    for i in range(count):
        docs.append(f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: team-{i % 7}
  labels: {{app.kubernetes.io/name: app-{i}, app.kubernetes.io/part-of: shipyard}}
spec:
  replicas: {1 + i % 4}
  selector:
    matchLabels: {{app.kubernetes.io/name: app-{i}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: app-{i}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 1000}}
      containers:
        - name: app
          image: registry.example.com/team/app-{i}:1.{i % 10}.0
          ports: [{{containerPort: 8080, name: http}}]
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{cpu: 500m, memory: 256Mi}}
          readinessProbe: {{httpGet: {{path: /ready, port: http}}}}
          livenessProbe: {{httpGet: {{path: /live, port: http}}}}
""")
    return "---\n".join(docs)


def kubernetes_validate_rate(text: str, sample: int) -> float:
    """Objects per second of kubernetes-validate's validate() (strict, as
    its command line runs it) on ``sample`` documents of ``text``."""
    import kubernetes_validate  # type: ignore[import-untyped]

    docs = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d][:sample]
    started = time.perf_counter()
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, "1.33.0", strict=True)
        except kubernetes_validate.ValidationError:
            pass
    return len(docs) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000, help="Deployments in the large file")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the best and median are printed")
    parser.add_argument("--sample", type=int, default=200, help="documents given to kubernetes-validate's validate()")
    parser.add_argument("--without-index", action="store_true",
                        help="also check the file with the CRD index removed (renders every entry point; slow)")
    args = parser.parse_args(argv)
    shipyard = str(BIN / "shipyard")
    offline = environment(mirror=False)
    mirrored = environment(mirror=True)
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
        copy = fresh_copy(Path(tmp) / "repo")
        (copy / "one.yaml").write_text(ONE, encoding="utf-8")
        subprocess.run([shipyard, "--version"], env=offline, capture_output=True, check=True)  # bytecode written
        check_one = [shipyard, "validate", "one.yaml"]
        wipe = [sys.executable, "-c", "import shutil; shutil.rmtree('.shipyard-cache', ignore_errors=True)"]
        print(f"one-object file ({copy.name}/one.yaml, a Deployment), {args.repeat} runs each:")
        line("cold: fresh copy, no render cache, offline", best(check_one, copy, offline, args.repeat, wipe))
        subprocess.run([shipyard, "schemas", "index"], cwd=copy, env=mirrored, capture_output=True, check=True)
        line("warm: every entry point's renders cached", best(check_one, copy, offline, args.repeat))
        if args.without_index:
            index = copy / ".shipyard" / "crds"
            shutil.move(str(index), str(copy / "index-aside"))
            line("without the index, cold (renders every entry point)",
                 best(check_one, copy, mirrored, min(args.repeat, 2), wipe))
            line("without the index, warm", best(check_one, copy, mirrored, args.repeat))
            line("without the index, offline", best(check_one, copy, offline, 1))
            shutil.move(str(copy / "index-aside"), str(index))
        print("start-up:")
        line("shipyard --version", best([shipyard, "--version"], copy, offline, args.repeat))
        line("import the validate command (python -c)", best(
            [sys.executable, "-c", "import shipyard.cli.validate, shipyard.validate"], copy, offline, args.repeat))
        line("kubernetes-validate one.yaml (its command line)",
             best([str(BIN / "kubernetes-validate"), "one.yaml"], copy, offline, args.repeat))

        text = deployments(args.objects)
        (copy / "big.yaml").write_text(text, encoding="utf-8")
        size = len(text.encode())
        # Before the parse below: a child's peak memory counts the pages it
        # shares with this process between fork and exec.
        wall, rss, code = timed([shipyard, "validate", "big.yaml", "--format", "json"], copy, offline)
        started = time.perf_counter()
        parsed = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]
        parse = time.perf_counter() - started
        rate = args.objects / wall
        kv = kubernetes_validate_rate(text, args.sample)
        print(f"{args.objects:,} Deployments in one file ({size / 1e6:.1f} MB), shipyard validate big.yaml:")
        print(f"  wall {wall:.2f}s = {rate:,.0f} objects/s (exit {code}); peak memory {rss / 1024:.0f} MB "
              f"= {rss * 1024 / size:.1f}x the file")
        print(f"  bare PyYAML CSafeLoader parse: {parse:.2f}s ({len(parsed):,} documents): shipyard takes "
              f"{wall / parse:.2f}x that")
        print(f"  kubernetes-validate validate(): {kv:,.0f} objects/s on {args.sample} documents: shipyard is "
              f"{rate / kv:.1f}x that")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
