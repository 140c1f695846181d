"""The MLflow pieces that need no server: model references, artifact URI
resolution, the mlflow section of shipyard.yaml, alias names, and the
version's mlflow lineage in model.yaml's schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.mlflow.importer import resolve_artifact_uri
from shipyard.mlflow.reference import ModelReference, parse_reference
from shipyard.mlflow.rest import MlflowRest
from shipyard.mlflow.settings import alias_names, tracking_uri
from shipyard.models.spec import parse_model_text, schema_problems
from shipyard.repo import Repository, Settings
from shipyard.serving.runtimes import artifact_names_for

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = MlflowRest("http://127.0.0.1:9")  # never called by the cases that resolve without the server


@pytest.mark.parametrize("text, expected", [
    ("models:/iris/3", ModelReference("iris", version="3")),
    ("models:/iris@champion", ModelReference("iris", alias="champion")),
    (" models:/fraud-detector/12/ ", ModelReference("fraud-detector", version="12")),
])
def test_references(text: str, expected: ModelReference) -> None:
    assert parse_reference(text) == expected
    assert str(parse_reference(str(expected))) == str(expected)


@pytest.mark.parametrize("text, message", [
    ("models:/iris/Production", "stages are deprecated"),
    ("models:/iris/0", "is not models:/"),
    ("runs:/abc/model", "is not models:/"),
    ("models:/iris@", "is not models:/"),
    ("iris/3", "is not models:/"),
])
def test_bad_references_say_the_two_forms(text: str, message: str) -> None:
    with pytest.raises(ShipyardError) as caught:
        parse_reference(text)
    assert caught.value.check == "SY900" and message in caught.value.message
    assert "models:/iris@champion" in (caught.value.hint or "")


@pytest.mark.parametrize("source, destination, expected", [
    ("s3://bucket/1/abc/artifacts/model", None, "s3://bucket/1/abc/artifacts/model"),
    ("gs://bucket/mlflow/1/abc/artifacts/model/", None, "gs://bucket/mlflow/1/abc/artifacts/model"),
    ("mlflow-artifacts:/1/abc/artifacts/model", "s3://models/mlflow", "s3://models/mlflow/1/abc/artifacts/model"),
    ("mlflow-artifacts://mlflow.example.com:5000/1/abc/artifacts/model", "s3://models/mlflow/",
     "s3://models/mlflow/1/abc/artifacts/model"),
])
def test_artifact_uris_resolve_to_what_a_cluster_fetches(source: str, destination: str | None, expected: str) -> None:
    assert resolve_artifact_uri(source, UNREACHABLE, destination) == expected


def test_runs_uris_go_through_the_runs_artifact_uri() -> None:
    resolved = resolve_artifact_uri("runs:/abc/model", UNREACHABLE, "s3://models/mlflow",
                                    run_artifacts="mlflow-artifacts:/4/abc/artifacts")
    assert resolved == "s3://models/mlflow/4/abc/artifacts/model"


@pytest.mark.parametrize("source, destination, message", [
    ("mlflow-artifacts:/1/abc/artifacts/model", None, "set mlflow.artifactsDestination"),
    ("mlflow-artifacts:/1/abc/artifacts/model", "/srv/mlartifacts", "is not s3:// or gs://"),
    ("file:///home/me/mlruns/0/abc/artifacts/model", None, "cannot fetch"),
    ("dbfs:/databricks/mlflow/0/abc", None, "cannot fetch"),
])
def test_artifacts_a_cluster_cannot_fetch_are_refused(source: str, destination: str | None, message: str) -> None:
    with pytest.raises(ShipyardError) as caught:
        resolve_artifact_uri(source, UNREACHABLE, destination)
    assert caught.value.check == "SY915"
    assert message in caught.value.message + " " + (caught.value.hint or "")


def _repo(tmp_path: Path, mlflow_section: str) -> Repository:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "shipyard.yaml").write_text(
        "repository: {url: https://github.com/example/shipyard.git}\n" + mlflow_section, encoding="utf-8")
    for env in ("dev", "staging", "production"):
        (tmp_path / "overlays" / env / "models").mkdir(parents=True)
        (tmp_path / "overlays" / env / "kustomization.yaml").write_text("resources: []\n", encoding="utf-8")
        (tmp_path / "overlays" / env / "models" / "kustomization.yaml").write_text("resources: []\n", encoding="utf-8")
    return Repository.load(tmp_path)


def test_alias_names_default_to_the_environments_and_can_be_renamed(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "mlflow:\n  aliases: {production: champion}\n")
    assert alias_names(repo) == {"dev": "dev", "staging": "staging", "production": "champion"}


@pytest.mark.parametrize("aliases, message", [
    ("{prod: production}", "'prod', which is not an environment"),
    ("{dev: shared, staging: shared}", "the same alias 'shared'"),
    ("{dev: 'two words'}", "is not an MLflow alias name"),
])
def test_bad_alias_settings_point_at_shipyard_yaml(tmp_path: Path, aliases: str, message: str) -> None:
    repo = _repo(tmp_path, f"mlflow:\n  aliases: {aliases}\n")
    with pytest.raises(ShipyardError) as caught:
        alias_names(repo)
    assert message in caught.value.message and caught.value.file == "shipyard.yaml" and caught.value.line == 3


@pytest.mark.parametrize("section, message", [
    ({"mlflow": "http://x"}, "mlflow must be a mapping"),
    ({"mlflow": {"trackinguri": "http://x"}}, "mlflow has no setting 'trackinguri'"),
    ({"mlflow": {"trackingUri": ""}}, "mlflow.trackingUri must be a non-empty string"),
    ({"mlflow": {"aliases": ["dev"]}}, "mlflow.aliases must map environments to alias names"),
])
def test_the_mlflow_section_is_read_strictly(section: dict[str, object], message: str) -> None:
    with pytest.raises(ShipyardError) as caught:
        _ = Settings(section).mlflow
    assert caught.value.check == "SY900" and message in caught.value.message


def test_tracking_uri_precedence(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "mlflow:\n  trackingUri: https://mlflow.example.com/\n")
    assert tracking_uri(repo, None, {}) == "https://mlflow.example.com"
    assert tracking_uri(repo, None, {"MLFLOW_TRACKING_URI": "http://env:5000"}) == "http://env:5000"
    assert tracking_uri(repo, "http://flag:5000", {"MLFLOW_TRACKING_URI": "http://env:5000"}) == "http://flag:5000"
    bare = _repo(tmp_path / "bare", "")
    with pytest.raises(ShipyardError, match="no MLflow tracking server is configured"):
        tracking_uri(bare, None, {})
    with pytest.raises(ShipyardError, match="must be http:// or https://"):
        tracking_uri(bare, "databricks://profile", {})


MODEL = """apiVersion: shipyard.dev/v1alpha1
kind: Model
metadata: {name: iris}
spec:
  owner: ml@example.com
  serving: {implementation: MLFLOW_SERVER, protocol: v2, replicas: {dev: 1}}
  versions:
  - version: 1.3.0
    modelUri: s3://models/mlflow/1/abc/artifacts/model
    metrics: {accuracy: 0.98}
    mlflow: %s
    created: "2026-12-01T00:00:00Z"
"""


def test_the_version_lineage_is_in_the_schema() -> None:
    good = parse_model_text(MODEL % "{model: iris, version: '3', runId: abc123, experimentId: '1'}", "m.yaml")
    assert schema_problems(good, "m.yaml") == []
    for bad, what in (("{model: iris, version: 3, runId: abc}", "spec.versions[0].mlflow.version"),
                      ("{model: iris, version: '3'}", "runId"),
                      ("{model: iris, version: '3', runId: abc, stage: Production}", "stage")):
        problems = schema_problems(parse_model_text(MODEL % bad, "m.yaml"), "m.yaml")
        assert problems and what in " ".join(p.message for p in problems), (bad, problems)


def test_the_cluster_servers_artifact_files() -> None:
    assert artifact_names_for("MLFLOW_SERVER", "v2") == ("MLmodel",)
    assert artifact_names_for("MLFLOW_SERVER", "seldon") == ("MLmodel",)
    assert artifact_names_for("SKLEARN_SERVER", "seldon") == ("model.joblib",)
    assert artifact_names_for(None, None) == ("model.joblib",)
