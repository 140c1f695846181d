"""status: model x environment x cluster, from the rendered overlays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture



def test_status_table(lc: LifecycleRepo) -> None:
    run = lc.shipyard("status")
    assert run.code == 0, run.err
    table, _, footer = run.out.partition("\n\n")
    lines = [line.split() for line in table.splitlines()]
    assert lines[0] == ["MODEL", "ENV", "CLUSTER", "VERSION", "ROLE", "TRAFFIC", "REPLICAS", "GPUS"]
    assert lines[1:] == [
        ["iris", "dev", "dev-kind", "1.0.0", "stable", "100%", "1", "0"],
        ["iris", "staging", "staging-1", "1.0.0", "stable", "100%", "1", "0"],
        ["iris", "production", "prod-eu", "1.0.0", "stable", "100%", "2", "0"],
        ["iris", "production", "prod-us", "1.0.0", "stable", "100%", "2", "0"],
        ["resnet", "dev", "dev-kind", "2026.10", "stable", "100%", "1", "0"],  # dev serves it on CPU
    ]
    assert footer.startswith("GPUs requested by models: dev-kind: 0 of 1 GPUs; prod-eu: 0 of 4 GPUs")


def test_status_json_follows_the_repository(lc: LifecycleRepo) -> None:
    lc.shipyard("promote", "resnet", "--to", "staging", "--no-branch")
    lc.shipyard("promote", "resnet", "--to", "production", "--no-branch")
    data = json.loads(lc.shipyard("status", "resnet", "--format", "json").out)
    rows = [(r["environment"], r["cluster"], r["version"], r["replicas"], r["gpus"], r["model_uri"])
            for r in data["placements"]]
    uri = "s3://vision-models/resnet/2026.10"
    assert rows == [("dev", "dev-kind", "2026.10", 1, 0, uri), ("staging", "staging-1", "2026.10", 1, 1, uri),
                    ("production", "prod-eu", "2026.10", 3, 3, uri), ("production", "prod-us", "2026.10", 3, 3, uri)]
    assert {c["cluster"]: (c["requested"], c["capacity"]) for c in data["clusters"]} == {
        "dev-kind": (0, 1), "staging-1": (1, 2), "prod-eu": (3, 4), "prod-us": (3, 8)}


def test_environment_without_cluster(lc: LifecycleRepo) -> None:
    (lc.root / "clusters/staging-1/cluster.yaml").unlink()
    rows = json.loads(lc.shipyard("status", "--env", "staging", "--format", "json").out)["placements"]
    assert [(r["model"], r["cluster"]) for r in rows] == [("iris", "-")]


def test_status_of_an_unknown_model_or_environment_lists_what_exists(capsys) -> None:
    from pathlib import Path

    from shipyard.cli import main

    root = str(Path(__file__).resolve().parents[2])
    assert main(["status", "nomodel", "--repo", root]) == 2
    assert "unknown model 'nomodel'" in capsys.readouterr().err
    assert main(["status", "--env", "qa", "--repo", root]) == 2
    err = capsys.readouterr().err
    assert "unknown environment 'qa'" in err and "dev, production, staging" in err
