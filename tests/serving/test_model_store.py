"""The model store against a real S3 API on loopback (`rclone serve s3`):
publish, immutability, fetch with the registered sha256, credentials, and
what the SeldonDeployment gets. No mocks: the toolkit's own rclone talks
S3 (signed requests, real errors) to a real server over a temporary folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from shipyard.cli import main
from shipyard.errors import ShipyardError
from shipyard.repo import Repository
from shipyard.serving.fetch import cache_folder
from shipyard.serving.publish import publish
from shipyard.serving.registry import registered_version
from shipyard.serving.server import free_port
from shipyard.serving.session import prepare
from shipyard.serving.store import parse_store, resolve_store, storage_secret_gaps
from shipyard.targets import open_renderer

from s3_loopback import S3_BUCKET, S3Server

pytestmark = pytest.mark.sidecar_env  # .venv-rclone

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
REPO_ROOT = Path(__file__).resolve().parents[2]

MODEL_YAML = """\
apiVersion: shipyard.dev/v1alpha1
kind: Model
metadata:
  name: iris
spec:
  owner: ml-platform@example.com
  serving:
    implementation: SKLEARN_SERVER
    protocol: seldon
    namespace: models
    replicas: {dev: 1}
  versions:
  - version: 1.0.0
    modelUri: gs://seldon-models/v1.17.0-dev/sklearn/iris
    metrics: {accuracy: 0.97}
    created: "2026-11-01T00:00:00Z"
"""

DEPLOY = """\
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata:
  name: iris
  labels:
    app.kubernetes.io/name: iris
spec:
  protocol: seldon
  predictors:
  - name: default
    replicas: 1
    traffic: 100
    graph:
      name: classifier
      type: MODEL
      implementation: SKLEARN_SERVER
      modelUri: ""
{secret}"""


def make_repo(tmp_path: Path, store: str | None, *, secret: str | None = None, deploy_secret: str | None = None) -> Path:
    """A small repository: one environment (dev), model iris with a deploy base."""
    root = tmp_path / "repo"
    settings = "repository: {url: https://example.com/r.git}\n"
    if store is not None:
        settings += f"modelStore:\n  uri: {store}\n" + (f"  secretName: {secret}\n" if secret else "")
    files = {
        "shipyard.yaml": settings,
        "overlays/dev/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
        "overlays/dev/models/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
        "models/iris/model.yaml": MODEL_YAML,
        "models/iris/deploy/kustomization.yaml":
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: models\nresources:\n- seldondeployment.yaml\n",
        "models/iris/deploy/seldondeployment.yaml":
            DEPLOY.format(secret=f"      envSecretRefName: {deploy_secret}\n" if deploy_secret else ""),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def artifact(tmp_path: Path, payload: bytes, name: str = "model.joblib") -> Path:
    path = tmp_path / "trained" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def served_object(server: S3Server, uri: str) -> Path:
    """The file behind ``s3://<bucket>/<key>`` in the folder the server serves."""
    return server.root / uri.removeprefix("s3://")


def register_entry(root: Path, version: str, uri: str, sha256: str) -> None:
    """Append a version to model.yaml as `shipyard register` would (without running it)."""
    path = root / "models" / "iris" / "model.yaml"
    path.write_text(path.read_text() + f"  - version: {version}\n    modelUri: {uri}\n    sha256: {sha256}\n"
                    "    metrics: {accuracy: 0.97}\n    created: \"2026-11-02T00:00:00Z\"\n")


# --------------------------------------------------------------------------
# Publish


def test_publish_uploads_to_the_store_and_prints_what_to_register(s3_server: S3Server, s3_store: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, s3_store)
    source = artifact(tmp_path, b"trained bytes")
    assert main(["publish", "iris", "--version", "1.1.0", "--from", str(source), "--repo", str(root),
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    digest = hashlib.sha256(b"trained bytes").hexdigest()
    assert out["uri"] == f"{s3_store}/iris/1.1.0" and out["object"] == f"{s3_store}/iris/1.1.0/model.joblib"
    assert out["sha256"] == digest and out["size"] == 13 and out["uploaded"] is True and out["warnings"] == []
    assert served_object(s3_server, out["object"]).read_bytes() == b"trained bytes"

    # text output: the modelUri and the register command to run next
    assert main(["publish", "iris", "--version", "1.1.0", "--from", str(source), "--repo", str(root)]) == 0
    text = capsys.readouterr().out
    assert "is already in the store with these bytes: nothing uploaded" in text
    assert f"register it: shipyard register iris --version 1.1.0 --uri {s3_store}/iris/1.1.0 --sha256 {digest}" in text


def test_a_version_is_never_overwritten(s3_server: S3Server, s3_store: str, tmp_path: Path) -> None:
    repo = Repository.load(make_repo(tmp_path, s3_store))
    store = resolve_store(repo.settings)
    first = publish(repo, store, "iris", "2.0.0", artifact(tmp_path, b"first"))
    assert first.uploaded
    for payload, detail in ((b"other bytes", "5 bytes there, 11 here"), (b"FIRST", "sha256 ")):
        with pytest.raises(ShipyardError) as caught:
            publish(repo, store, "iris", "2.0.0", artifact(tmp_path, payload))
        assert caught.value.check == "SY912"
        assert f"{first.object_uri} already holds different bytes: versions are immutable" in caught.value.message
        assert detail in caught.value.message
    assert served_object(s3_server, first.object_uri).read_bytes() == b"first"
    again = publish(repo, store, "iris", "2.0.0", artifact(tmp_path, b"first"))
    assert not again.uploaded and again.sha256 == first.sha256

    # anything else in a version's folder is what the cluster would download too
    s3_server.client("copyto", str(artifact(tmp_path, b"x", "notes.txt")), f"{store.uri}/iris/2.1.0/notes.txt")
    with pytest.raises(ShipyardError, match=r"iris/2.1.0 already holds other objects \(notes.txt\)"):
        publish(repo, store, "iris", "2.1.0", artifact(tmp_path, b"first"))


def test_a_registered_version_gets_back_only_its_own_bytes(s3_store: str, tmp_path: Path) -> None:
    """The object of a registered version went missing from the store:
    publishing other bytes there would make model.yaml's sha256 a lie."""
    root = make_repo(tmp_path, s3_store)
    register_entry(root, "3.0.0", f"{s3_store}/iris/3.0.0", hashlib.sha256(b"registered").hexdigest())
    repo = Repository.load(root)
    with pytest.raises(ShipyardError) as caught:
        publish(repo, resolve_store(repo.settings), "iris", "3.0.0", artifact(tmp_path, b"something else"))
    assert caught.value.check == "SY912" and caught.value.file == "models/iris/model.yaml"
    assert publish(repo, resolve_store(repo.settings), "iris", "3.0.0", artifact(tmp_path, b"registered")).uploaded


def test_wrong_credentials_are_named_not_dumped(s3_server: S3Server, s3_store: str, tmp_path: Path) -> None:
    repo = Repository.load(make_repo(tmp_path, s3_store))
    with pytest.raises(ShipyardError) as caught:
        publish(repo, resolve_store(repo.settings), "iris", "1.1.0", artifact(tmp_path, b"x"),
                environ=s3_server.environ(secret="not-the-secret"))
    error = caught.value
    assert error.check == "SY912" and "SignatureDoesNotMatch" in error.message
    assert f"the s3 remote at {s3_server.endpoint} refused the credentials" in str(error.hint)
    assert "not-the-secret" not in str(error)


def test_bad_input_is_refused_before_the_store_is_touched(s3_server: S3Server, s3_store: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, s3_store)
    source = artifact(tmp_path, b"x")
    for args, message in (
        (["--version", "1.1 beta"], "--version '1.1 beta': a version is 1-63 letters"),
        (["--version", "latest"], "modelUri points at a moving location"),
        (["--version", "1.1.0", "--from", str(tmp_path / "nowhere")], "nowhere does not exist"),
    ):
        argv = ["publish", "iris", "--from", str(source), "--repo", str(root), *args]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert main(["publish", "nope", "--version", "1", "--from", str(source), "--repo", str(root)]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert list((s3_server.root / S3_BUCKET).glob(f"{s3_store.rsplit('/', 1)[1]}/**/*")) == []


# --------------------------------------------------------------------------
# The store setting


def test_a_store_uri_with_credentials_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, "s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@shipyard-models")
    source = artifact(tmp_path, b"x")
    assert main(["publish", "iris", "--version", "1.1.0", "--from", str(source), "--repo", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error [SY321]: shipyard.yaml:3: the model store modelStore.uri of shipyard.yaml carries a "
                          "user:password in the URI; every modelUri published there would carry it into git")
    assert "AWS_ACCESS_KEY_ID" in err
    with pytest.raises(ShipyardError) as caught:
        parse_store("gs://bucket/m?X-Goog-Signature=abc", "--store")
    assert caught.value.check == "SY321" and "X-Goog-Signature parameter" in caught.value.message


def test_where_the_store_comes_from(tmp_path: Path) -> None:
    settings = Repository.load(make_repo(tmp_path, "s3://shipyard-models/team/")).settings
    assert resolve_store(settings, environ={}).uri == "s3://shipyard-models/team"
    assert resolve_store(settings, environ={"SHIPYARD_MODEL_STORE": "gs://other"}).uri == "gs://other"
    assert resolve_store(settings, "s3://cli", environ={"SHIPYARD_MODEL_STORE": "gs://other"}).uri == "s3://cli"
    local = resolve_store(settings, str(tmp_path / "store"), environ={})
    assert not local.remote and local.version_uri("iris", "1.0") == f"file://{tmp_path}/store/iris/1.0"
    (tmp_path / "repo" / "shipyard.yaml").write_text("modelStore: {uri: store}\n")  # relative to the repository
    relative = resolve_store(Repository.load(tmp_path / "repo").settings, environ={}, root=tmp_path / "repo")
    assert relative.uri == f"file://{tmp_path}/repo/store"
    with pytest.raises(ShipyardError, match="no model store"):
        resolve_store(Repository.load(make_repo(tmp_path / "b", None)).settings, environ={})
    for bad, message in (("https://example.com/m", "unsupported scheme 'https'"), ("s3://", "not a bucket"),
                         ("s3://b/../x", "not a bucket")):
        with pytest.raises(ShipyardError, match=message):
            parse_store(bad, "--store")
    (tmp_path / "repo" / "shipyard.yaml").write_text("modelStore:\n  uri: s3://b\n  endpiont: http://x\n")
    with pytest.raises(ShipyardError) as caught:
        resolve_store(Repository.load(tmp_path / "repo").settings, environ={})
    assert caught.value.line == 3 and "no setting 'endpiont'" in caught.value.message


# --------------------------------------------------------------------------
# Fetch (what `shipyard serve` does with an s3:// modelUri)


def test_fetch_verifies_the_registered_sha256(s3_server: S3Server, s3_store: str, tmp_path: Path) -> None:
    root = make_repo(tmp_path, s3_store)
    repo = Repository.load(root)
    published = publish(repo, resolve_store(repo.settings), "iris", "4.0.0", artifact(tmp_path, b"the model"))
    register_entry(root, "4.0.0", published.uri, published.sha256)

    prepared = prepare(root, "iris", "4.0.0")
    assert prepared.fetched_from == published.uri and prepared.downloaded and prepared.artifact.verified
    assert (prepared.artifact.folder / "model.joblib").read_bytes() == b"the model"
    assert prepared.artifact.folder == cache_folder(root, registered_version(root, "iris", "4.0.0"))
    assert not prepare(root, "iris", "4.0.0").downloaded  # a verified copy is not downloaded again

    # The object is replaced in the store after registration: refused, nothing kept.
    s3_server.client("copyto", str(artifact(tmp_path, b"a tampered model")), published.object_uri)
    shutil.rmtree(prepared.artifact.folder)
    with pytest.raises(ShipyardError) as caught:
        prepare(root, "iris", "4.0.0")
    error = caught.value
    assert error.check == "SY912" and error.file == "models/iris/model.yaml" and error.line == 17
    assert f"{published.object_uri} has sha256 {hashlib.sha256(b'a tampered model').hexdigest()}" in error.message
    assert f"but {published.sha256} is registered for iris 4.0.0; refusing to serve it" in error.message
    assert not prepared.artifact.folder.exists()
    assert list(prepared.artifact.folder.parent.iterdir()) == []  # no staging folder left behind


def test_fetch_of_nothing_says_so(s3_store: str, tmp_path: Path) -> None:
    root = make_repo(tmp_path, s3_store)
    register_entry(root, "5.0.0", f"{s3_store}/iris/5.0.0", "ab" * 32)
    with pytest.raises(ShipyardError) as caught:
        prepare(root, "iris", "5.0.0")
    assert caught.value.check == "SY912" and "holds no model.joblib (nothing is there)" in caught.value.message
    assert "shipyard publish" in str(caught.value.hint)


def test_serve_without_a_sha256_needs_permission_before_downloading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, None)
    assert main(["serve", "iris", "--version", "1.0.0", "--repo", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error [SY912]: models/iris/model.yaml:13: iris 1.0.0 has no sha256 in model.yaml")
    assert "--allow-unverified" in err and not (root / ".shipyard-cache").exists()


# --------------------------------------------------------------------------
# What the cluster gets


def test_components_carry_the_store_uri_and_the_secret(s3_store: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A version published to the store and registered: the generated
    components put its s3:// URI in graph.modelUri of the stable and the
    canary predictor, and envSecretRefName of the deploy base reaches both,
    so the storage initializer of either pod gets the store's credentials."""
    root = make_repo(tmp_path, s3_store, secret="model-store-credentials", deploy_secret="model-store-credentials")
    source = artifact(tmp_path, b"model")
    assert main(["publish", "iris", "--version", "1.1.0", "--from", str(source), "--repo", str(root),
                 "--format", "json"]) == 0
    published = json.loads(capsys.readouterr().out)
    assert published["warnings"] == []
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"accuracy": 0.97}')
    assert main(["register", "iris", "--version", "1.1.0", "--uri", published["uri"], "--sha256", published["sha256"],
                 "--metrics", str(metrics), "--repo", str(root)]) == 0, capsys.readouterr().err
    entry = yaml.safe_load((root / "models/iris/model.yaml").read_text())["spec"]["versions"][-1]
    assert entry["modelUri"] == f"{s3_store}/iris/1.1.0" and entry["sha256"] == published["sha256"]
    assert main(["register", "iris", "--sync", "--repo", str(root)]) == 0  # 1.0.0's components, for the pin below

    pin = root / "overlays/dev/models/iris"
    pin.mkdir(parents=True)
    (pin / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../../../models/iris/deploy\n"
        "components:\n- ../../../../models/iris/versions/1.0.0\n- ../../../../models/iris/versions/1.1.0/canary\n")
    with open_renderer(Repository.load(root), use_cache=False) as renderer:
        (sd,) = [o for o in renderer.kustomize_bodies("overlays/dev/models/iris") if o["kind"] == "SeldonDeployment"]
    graphs = {p["name"]: p["graph"] for p in sd["spec"]["predictors"]}
    assert graphs["canary"]["modelUri"] == f"{s3_store}/iris/1.1.0"
    assert graphs["default"]["modelUri"] == "gs://seldon-models/v1.17.0-dev/sklearn/iris"
    assert {g["envSecretRefName"] for g in graphs.values()} == {"model-store-credentials"}


def test_publish_warns_when_the_cluster_would_get_no_credentials(s3_store: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, s3_store, secret="model-store-credentials")
    assert storage_secret_gaps(Repository.load(root), "iris", "model-store-credentials") == ["dev"]
    assert main(["publish", "iris", "--version", "1.1.0", "--from", str(artifact(tmp_path, b"m")), "--repo", str(root)]) == 0
    err = capsys.readouterr().err
    assert "warning: modelStore.secretName says the cluster reads" in err
    assert "nothing gives it to the storage initializer of iris in dev" in err
    values = root / "overlays/dev/charts/values/seldon-core.yaml"
    values.parent.mkdir(parents=True)
    values.write_text("predictiveUnit:\n  defaultEnvSecretRefName: model-store-credentials\n")
    assert storage_secret_gaps(Repository.load(root), "iris", "model-store-credentials") == []


# --------------------------------------------------------------------------
# End to end: publish, register, serve what the store holds


def test_a_published_version_serves_end_to_end(s3_server: S3Server, s3_store: str, seldon_env, iris_model_dir: Path,  # type: ignore[no-untyped-def]
                                               tmp_path: Path) -> None:
    """The commands a person runs, as subprocesses with only the AWS_*
    variables pointing at the store: publish the trained iris artifact,
    register the URI it prints, then `shipyard serve` fetches it with rclone,
    checks the sha256 and answers a prediction with seldon-core's microservice."""
    root = make_repo(tmp_path, s3_store)
    env = s3_server.environ()
    run = lambda *args: subprocess.run([SHIPYARD, *args, "--repo", str(root)], env=env, capture_output=True, text=True,  # noqa: E731
                                       timeout=120)
    done = run("publish", "iris", "--version", "1.1.0", "--from", str(iris_model_dir / "model.joblib"), "--format", "json")
    assert done.returncode == 0, done.stderr
    published = json.loads(done.stdout)
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"accuracy": 0.97}')
    done = run("register", "iris", "--version", "1.1.0", "--uri", published["uri"], "--sha256", published["sha256"],
               "--metrics", str(metrics))
    assert done.returncode == 0, done.stderr

    port = str(free_port())
    proc = subprocess.Popen([SHIPYARD, "serve", "iris", "--repo", str(root), "--port", port], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (banner and banner[-1].startswith("Stop with Ctrl-C")):
            line = proc.stdout.readline()
            if not line:
                break
            banner.append(line)
        text = "".join(banner)
        assert f"  fetched  {published['uri']} (downloaded with rclone)" in text, text + (proc.stderr.read() if proc.poll() is not None else "")
        assert "Serving iris 1.1.0" in text and "sha256 verified" in text
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1.0/predictions",
                                         data=json.dumps({"data": {"ndarray": [[5.1, 3.5, 1.4, 0.2]]}}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        assert body["data"]["names"] == ["setosa", "versicolor", "virginica"]
        row = body["data"]["ndarray"][0]
        assert row.index(max(row)) == 0
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_pipeline_publishes_to_the_store(kfp_env, s3_server: S3Server, s3_store: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`shipyard pipeline run` with an s3:// store: its register step runs
    `shipyard publish` and registers the s3:// URI and sha256 (not file://),
    and what it registered is fetched and verified from the store."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    subprocess.run(["cp", "-r", str(REPO_ROOT / "pipelines") + "/.", str(clone / "pipelines")], check=True)
    git = ["git", "-C", str(clone), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "pipelines under test"], check=True)
    done = subprocess.run(
        [SHIPYARD, "pipeline", "run", "iris", "--repo", str(clone), "--version", "1.7.0", "--model-store", s3_store,
         "--param", "git_commit=false", "--pipeline-root", str(tmp_path / "root")],
        env=s3_server.environ(), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    entry = [v for v in yaml.safe_load((clone / "models/iris/model.yaml").read_text())["spec"]["versions"]
             if v["version"] == "1.7.0"][0]
    assert entry["modelUri"] == f"{s3_store}/iris/1.7.0"
    stored = served_object(s3_server, f"{s3_store}/iris/1.7.0/model.joblib")
    assert entry["sha256"] == hashlib.sha256(stored.read_bytes()).hexdigest()
    prepared = prepare(clone, "iris", "1.7.0")
    assert prepared.artifact.verified and prepared.fetched_from == entry["modelUri"]


@pytest.fixture(scope="session")
def kfp_env():  # type: ignore[no-untyped-def]
    from shipyard import envs

    return envs.ensure("kfp", envs.toolkit_root()).env

