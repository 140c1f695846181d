"""Resolving a registered version to a verified local artifact (no server, no side env)."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.errors import ShipyardError
from shipyard.serving.artifact import local_folder, verify
from shipyard.serving.registry import registered_version, registered_versions
from shipyard.serving.server import pick_ports
from shipyard.serving.session import prepare

MODEL_YAML = """\
apiVersion: shipyard.dev/v1alpha1
kind: Model
metadata:
  name: iris
spec:
  owner: ml-platform@example.com
  versions:
  - version: 1.0.0
    modelUri: gs://bucket/iris/1.0.0
    metrics: {{accuracy: 0.97}}
  - version: 1.1.0
    modelUri: {uri}
    sha256: {sha}
    metrics: {{accuracy: 0.96, f1_macro: 0.96}}
"""


def make_repo(tmp_path: Path, payload: bytes = b"model bytes", registered_sha: str | None = None, uri: str | None = None) -> Path:
    root = tmp_path / "repo"
    store = tmp_path / "store" / "iris" / "1.1.0"
    store.mkdir(parents=True)
    (store / "model.joblib").write_bytes(payload)
    sha = registered_sha or hashlib.sha256(payload).hexdigest()
    (root / "models" / "iris").mkdir(parents=True)
    (root / "shipyard.yaml").write_text("repository: {url: https://example.com/r.git}\n")
    (root / "models" / "iris" / "model.yaml").write_text(MODEL_YAML.format(uri=uri or f"file://{store}", sha=sha))
    return root


def test_versions_are_read_with_their_lines(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    versions = registered_versions(root, "iris")
    assert [(v.version, v.line) for v in versions] == [("1.0.0", 8), ("1.1.0", 11)]
    assert versions[0].sha256 is None and versions[1].sha256 is not None
    assert registered_version(root, "iris").version == "1.1.0"  # default: the last registered


def test_unknown_version_and_model_name_the_alternatives(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    with pytest.raises(ShipyardError) as caught:
        registered_version(root, "iris", "9.9.9")
    assert caught.value.hint == "registered versions: 1.0.0, 1.1.0"
    with pytest.raises(ShipyardError) as caught:
        registered_version(root, "nope")
    assert "models are: iris" in str(caught.value.hint)


def test_invalid_model_yaml_names_the_line(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    (root / "models" / "iris" / "model.yaml").write_text("spec:\n  versions:\n  - version: [1\n")
    with pytest.raises(ShipyardError) as caught:
        registered_versions(root, "iris")
    assert caught.value.file == "models/iris/model.yaml" and caught.value.line == 4


@pytest.mark.parametrize(
    "uri, expected",
    [("file:///srv/m/iris", "/srv/m/iris"), ("/srv/m/iris", "/srv/m/iris"), ("store/iris", "REPO/store/iris"), ("file:///a%20b", "/a b")],
)
def test_local_folder_forms(uri: str, expected: str) -> None:
    assert str(local_folder(uri, Path("REPO"))) == expected


@pytest.mark.parametrize("uri", ["gs://b/iris/1", "s3://b/iris/1"])
def test_remote_uri_is_not_a_local_folder(uri: str) -> None:
    """Remote URIs are fetched (shipyard.serving.fetch, tests in
    test_model_store.py), never read as a path named 'gs:'."""
    with pytest.raises(ShipyardError) as caught:
        local_folder(uri, Path("."))
    assert caught.value.check == "SY912"
    assert f"{uri} is in a remote store, not a local folder" in caught.value.message


def test_unsupported_scheme_is_refused() -> None:
    with pytest.raises(ShipyardError, match="unsupported URI scheme 'https'"):
        local_folder("https://example.com/model", Path("."))


def test_verify_accepts_the_registered_artifact(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    prepared = prepare(root, "iris", "1.1.0")
    assert prepared.artifact.verified
    assert prepared.artifact.sha256 == hashlib.sha256(b"model bytes").hexdigest()


def test_sha256_mismatch_is_refused_with_both_digests(tmp_path: Path) -> None:
    root = make_repo(tmp_path, registered_sha="ab" * 32)
    with pytest.raises(ShipyardError) as caught:
        prepare(root, "iris", "1.1.0")
    error = caught.value
    assert error.check == "SY912" and error.line == 11
    assert "ab" * 32 in error.message and hashlib.sha256(b"model bytes").hexdigest() in error.message
    assert "refusing to serve" in error.message


def test_missing_folder_and_missing_file(tmp_path: Path) -> None:
    root = make_repo(tmp_path, uri=f"file://{tmp_path}/nowhere")
    with pytest.raises(ShipyardError, match="does not exist"):
        prepare(root, "iris", "1.1.0")
    root2 = make_repo(tmp_path / "b")
    (tmp_path / "b" / "store" / "iris" / "1.1.0" / "model.joblib").unlink()
    with pytest.raises(ShipyardError, match="model.joblib is missing"):
        prepare(root2, "iris", "1.1.0")


def test_unregistered_digest_needs_explicit_permission(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    entry = registered_version(root, "iris", "1.0.0")
    folder = tmp_path / "store" / "iris" / "1.1.0"
    with pytest.raises(ShipyardError) as caught:
        verify(folder, entry)
    assert "--allow-unverified" in str(caught.value.hint)
    assert verify(folder, entry, allow_unverified=True).verified is False


def test_model_dir_overrides_a_remote_uri_and_is_still_checked(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    folder = tmp_path / "store" / "iris" / "1.1.0"
    with pytest.raises(ShipyardError, match="no sha256"):
        prepare(root, "iris", "1.0.0", model_dir=folder)
    assert prepare(root, "iris", "1.1.0", model_dir=folder).artifact.verified


def test_busy_port_is_refused_before_starting() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        with pytest.raises(ShipyardError, match=f"REST port {busy} on 127.0.0.1 is not available"):
            pick_ports(busy)


def test_serve_command_refuses_mismatch_without_starting_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, registered_sha="cd" * 32)
    assert main(["serve", "iris", "--repo", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error [SY912]: models/iris/model.yaml:11:")
    assert "Traceback" not in err


def test_serve_command_refuses_an_unverifiable_remote_artifact_before_fetching(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path)
    assert main(["serve", "iris", "--version", "1.0.0", "--repo", str(root)]) == 2
    err = capsys.readouterr().err
    assert "iris 1.0.0 has no sha256 in model.yaml, so the artifact at gs://bucket/iris/1.0.0 cannot be verified" in err
    assert "--allow-unverified" in err and not (root / ".shipyard-cache").exists()
