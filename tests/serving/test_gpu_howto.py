"""docs/gpu-models.md, "Add your own GPU model", followed literally.

Every `sh` block of that section runs in order, as written, in a scratch
copy of this repository (its work tree, committed), with the real
`shipyard` on PATH. The store the reader exports is a real S3 API on
loopback (`rclone serve s3`), given through SHIPYARD_MODEL_STORE and the
AWS_* variables, as the how-to tells a reader to set them. The test fails
if a command errors, if the model does not end up published, registered
and pinned with its GPUs generated, or if `shipyard validate` is not clean
afterwards. Takes about two minutes: one local pipeline run (tune, train,
publish, register) and a full validate.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml
from s3_loopback import S3_BUCKET, S3Server

from shipyard import envs
from shipyard.e2e.scratch import scratch_copy

pytestmark = pytest.mark.sidecar_env

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "gpu-models.md"
SECTION = "## Add your own GPU model"
BLOCK = re.compile(r"^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)


def howto_blocks() -> list[str]:
    """The `sh` blocks of the how-to section, dedented (list items indent them)."""
    text = GUIDE.read_text(encoding="utf-8")
    assert SECTION in text, f"docs/gpu-models.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(m.group("body")) for m in BLOCK.finditer(section) if m.group("lang") == "sh"]


def test_the_howto_covers_every_step() -> None:
    script = "\n".join(howto_blocks())
    for step in ("shipyard new model churn", "--gpus staging=1,production=1", "cp -r pipelines/tabular-xgb",
                 "shipyard pipeline compile churn", "shipyard pipeline run churn", "shipyard promote churn --to dev",
                 "shipyard promote churn --to production", "shipyard validate"):
        assert step in script, f"the how-to no longer runs `{step}`"
    assert "--force" not in script  # a GPU model promotes dev -> staging -> production without it


@pytest.fixture(scope="module")
def followed(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    for name in ("kfp", "tabular-xgb", "rclone"):  # built once per machine, before the clock of the run starts
        envs.ensure(name, envs.toolkit_root())
    root = scratch_copy(REPO_ROOT, tmp_path_factory.mktemp("howto") / "fork")
    store = f"s3://{S3_BUCKET}/howto-{uuid.uuid4().hex[:8]}"
    env = {**s3_server.environ(), "SHIPYARD_MODEL_STORE": store,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_AUTHOR_NAME": "GPU How-to", "GIT_AUTHOR_EMAIL": "howto@example.com",
           "GIT_COMMITTER_NAME": "GPU How-to", "GIT_COMMITTER_EMAIL": "howto@example.com"}
    script = "set -euo pipefail\n" + "\n".join(howto_blocks())
    proc = subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=1200)
    return {"root": root, "store": store, "proc": proc, "server": s3_server}


def test_every_command_of_the_howto_runs(followed: dict[str, object]) -> None:
    proc = followed["proc"]
    assert isinstance(proc, subprocess.CompletedProcess)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert "warning:" not in proc.stderr  # e.g. publish's: the predictors would get no store credentials
    last = [line for line in (proc.stdout + proc.stderr).splitlines() if "error(s)" in line][-1]
    assert last.startswith("0 error(s), 0 warning(s)"), last


def test_the_model_is_published_registered_and_pinned_with_generated_gpus(followed: dict[str, object]) -> None:
    root, store, server = followed["root"], followed["store"], followed["server"]
    assert isinstance(root, Path) and isinstance(store, str) and isinstance(server, S3Server)
    proc = followed["proc"]
    assert isinstance(proc, subprocess.CompletedProcess) and proc.returncode == 0
    model = yaml.safe_load((root / "models" / "churn" / "model.yaml").read_text())
    assert model["spec"]["serving"]["gpu"] == {"dev": 0, "staging": 1, "production": 1}
    (entry,) = model["spec"]["versions"]
    assert entry["version"] == "1.0.0" and entry["modelUri"] == f"{store}/churn/1.0.0"
    published = server.root / f"{store[len('s3://'):]}/churn/1.0.0"
    assert sorted(p.name for p in published.iterdir()) == ["model.json"]
    assert entry["sha256"] == hashlib.sha256((published / "model.json").read_bytes()).hexdigest()
    assert {"tuned_max_depth", "tuned_eta", "tuned_n_estimators", "accuracy", "auc"} <= set(entry["metrics"])
    for env, gpus in (("dev", 0), ("staging", 1), ("production", 1)):
        pin = (root / "overlays" / env / "models" / "churn" / "kustomization.yaml").read_text()
        assert "models/churn/versions/1.0.0" in pin
        assert ("nvidia.com~1gpu" in pin) == (gpus > 0), env
    deploy = (root / "models" / "churn" / "deploy" / "seldondeployment.yaml").read_text()
    assert "envSecretRefName: model-store-credentials" in deploy and "nvidia.com/gpu" not in deploy
    assert "churn" in proc.stdout and "1.0.0" in proc.stdout  # shipyard status churn
