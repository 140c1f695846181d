"""Which model version runs where: a table of model x environment x
cluster with version, traffic, replicas and GPUs, from the rendered
overlays (what Argo CD or Flux apply)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from shipyard.cli.change_options import add_repo_argument, repository
from shipyard.errors import ShipyardError
from shipyard.models.status import ClusterGpus, Placement, gpu_usage, status

NAME = "status"
HELP = "which model version runs where, across environments and clusters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", help="only these models")
    parser.add_argument("--env", action="append", help="only this environment (repeatable)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_repo_argument(parser)


def table(rows: list[Placement]) -> str:
    head = ("MODEL", "ENV", "CLUSTER", "VERSION", "ROLE", "TRAFFIC", "REPLICAS", "GPUS")
    body = [(r.model, r.environment, r.cluster, r.version, r.role, f"{r.traffic}%", str(r.replicas), str(r.gpus))
            for r in rows]
    widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [head, *body]]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    repo = repository(args)
    known_models, known_envs = set(repo.models()), set(repo.environments())
    for name, wanted, known in (("model", args.models, known_models), ("environment", args.env or [], known_envs)):
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise ShipyardError(f"unknown {name} {', '.join(repr(u) for u in unknown)}",
                                hint=f"{name}s are: {', '.join(sorted(known)) or 'none'}", check="SY900")
    rows = status(repo, args.env)
    if args.models:
        rows = [r for r in rows if r.model in set(args.models)]
    gpus = gpu_usage(repo, rows)
    if args.format == "json":
        print(json.dumps({"placements": [asdict(r) for r in rows], "clusters": [asdict(g) for g in gpus]}, indent=2))
    else:
        print(table(rows), end="")
        print(gpu_summary(gpus), end="")
    return 0


def gpu_summary(gpus: list[ClusterGpus]) -> str:
    lines = [f"{g.cluster}: {g.requested} of {g.capacity} GPUs" + ("  OVER CAPACITY" if g.requested > g.capacity else "")
             for g in gpus if g.requested or g.capacity]
    return ("\nGPUs requested by models: " + "; ".join(lines) + "\n") if lines else ""
