"""SY320-SY322: credentials outside Secrets, each caught at its line, and
references (not credentials) left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.checks.policy_credentials import (
    credential_by_key,
    credential_in_uri,
    credentials_in_configmaps,
    credentials_in_uris,
    credentials_in_values,
)
from shipyard.load import load_text
from shipyard.repo import Repository

AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"


def context(text: str, path: str = "overlays/dev/x.yaml", repo: Repository | None = None) -> CheckContext:
    objects = load_text(text, path).objects
    return CheckContext([RenderedTarget("overlays/dev", "overlay", objects, "1.33.0")], repo=repo)


def test_sy320_password_in_helmrelease_values() -> None:
    ctx = context(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: db, namespace: data}\n"
        "spec:\n  values:\n    auth:\n      existingSecret: db-auth\n      password: hunter2\n"
    )
    found = list(credentials_in_values(ctx))
    assert [(f.check, f.line) for f in found] == [("SY320", 8)]
    assert "auth.password" in found[0].message


@pytest.mark.parametrize(
    "uri, why",
    [
        ("s3://AKIAABCDEFGHIJKLMNOP:wJalrXUtnFEMI@models/iris", "user:password"),
        ("https://user:tok3n@example.com/models/iris.tgz", "user:password"),
        ("https://storage.googleapis.com/b/iris?X-Goog-Signature=abc&X-Goog-Expires=60", "X-Goog-Signature"),
        ("https://ghp_" + "a" * 36 + "@github.com/org/repo.git", "token"),
    ],
)
def test_sy321_credentials_in_uris(uri: str, why: str) -> None:
    assert why in (credential_in_uri(uri) or "")


@pytest.mark.parametrize("uri", ["gs://seldon-models/v1.17.0-dev/sklearn/iris", "s3://bucket/iris/1.2.0", "file:///srv/models/iris",
                                 "https://github.com/example/shipyard.git", "pvc://models/iris"])
def test_sy321_plain_uris_pass(uri: str) -> None:
    assert credential_in_uri(uri) is None


def test_sy321_model_uri_in_a_seldondeployment_and_in_model_yaml(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "models" / "iris").mkdir(parents=True)
    (root / "shipyard.yaml").write_text("repository: {url: https://github.com/example/x.git}\n")
    (root / "models/iris/model.yaml").write_text(
        "apiVersion: shipyard.dev/v1alpha1\nkind: Model\nmetadata: {name: iris}\nspec:\n  versions:\n"
        "  - version: 1.0.0\n    modelUri: s3://KEY:SECRET@bucket/iris\n"
    )
    ctx = context(
        "apiVersion: machinelearning.seldon.io/v1\nkind: SeldonDeployment\nmetadata: {name: iris, namespace: models}\n"
        "spec:\n  predictors:\n  - name: default\n    graph:\n      name: c\n      implementation: SKLEARN_SERVER\n"
        "      modelUri: https://example.com/iris?token=abc\n",
        repo=Repository.load(root),
    )
    found = sorted((f.file, f.line) for f in credentials_in_uris(ctx))
    assert found == [("models/iris/model.yaml", 7), ("overlays/dev/x.yaml", 10)]


def test_sy322_configmap_key_and_shape_and_values_file() -> None:
    ctx = context(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: app}\ndata:\n"
        "  mode: dev\n  api_token: s3cr3t-value\n  tokenSecretName: app-token\n"
        f"  notes: 'rotate {AWS_KEY} soon'\n"
        "  values.yaml: |\n    auth:\n      password: hunter2\n"
    )
    found = {(f.line, f.message.split(" ")[0]) for f in credentials_in_configmaps(ctx)}
    assert found == {(6, "data.api_token"), (8, "data.notes"), (9, "data.values.yaml")}


def test_references_are_not_credentials() -> None:
    assert not credential_by_key("passwordSecretRef", "db")
    assert not credential_by_key("password", "${DB_PASSWORD}")
    assert not credential_by_key("existingSecret", "db")
    assert not credential_by_key("token", "")
    assert credential_by_key("clientSecret", "abc123")


def test_chart_rendered_objects_are_not_judged() -> None:
    ctx = context("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\ndata: {password: x}\n",
                  path="chart:some-chart-1.0.0/templates/cm.yaml")
    assert list(credentials_in_configmaps(ctx)) == []
