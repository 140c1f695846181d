"""A folder without a kustomization file, named on the command line
(`shipyard validate some-folder`): read as what a GitOps engine applies from
it, the manifests in it and in every subfolder. It used to read the top
level only, printing "checked 0 objects" while a credential sat one folder
down.

The folders are made by each test: the credentials planted in them are
built at run time, so that no secret scanner takes the corpus for a leak.
"""

from __future__ import annotations

from pathlib import Path

import pytest

AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def configmap(name: str, key: str, value: str) -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\n"
            f"data:\n  {key}: {value}\n")


SELDON = """apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata:
  name: iris
  namespace: models
spec:
  predictors:
  - name: default
    graph:
      name: classifier
      implementation: SKLEARN_SERVER
      modelUri: s3://{key}:wJalrXUtnFEMI@models/iris
"""


@pytest.fixture()
def planted(corpus: Path) -> Path:
    """some-folder/ with nothing at the top and credentials two levels down."""
    folder = corpus / "some-folder"
    write(folder / "README.md", "manifests of the team\n")
    write(folder / "team" / "storage" / "s3.yaml", configmap("s3-access", "AWS_ACCESS_KEY_ID", AWS_KEY))
    write(folder / "team" / "serving" / "iris.yaml", SELDON.format(key=AWS_KEY))
    return folder


def test_a_credential_in_a_subfolder_is_found(planted: Path, shipyard) -> None:
    outcome = shipyard("validate", "some-folder", "--check", "SY321", "--check", "SY322", "--format", "json")
    assert outcome.code == 1
    found = [(f["check"], f["file"], f["line"], f["target"]) for f in outcome.findings]
    assert found == [
        ("SY321", "some-folder/team/serving/iris.yaml", 12, "some-folder"),
        ("SY322", "some-folder/team/storage/s3.yaml", 7, "some-folder"),
    ]
    assert "data.AWS_ACCESS_KEY_ID holds an AWS access key id" in outcome.findings[1]["message"]
    assert "carries a user:password in the URI" in outcome.findings[0]["message"]


def test_every_manifest_below_is_counted(planted: Path, shipyard) -> None:
    outcome = shipyard("validate", "some-folder", "--check", "SY322")
    assert "checked 2 objects" in outcome.err


def test_a_kustomization_below_is_built_not_read_as_manifests(corpus: Path, shipyard) -> None:
    """Its files are that build's inputs: the patch is applied (the built
    object carries the credential the patch adds), and neither the
    kustomization file nor the patch is judged as an object of its own."""
    folder = corpus / "some-folder"
    write(folder / "app" / "kustomization.yaml",
          "resources:\n- configmap.yaml\npatches:\n- path: patch.yaml\n")
    write(folder / "app" / "configmap.yaml", configmap("app", "mode", "fast"))
    write(folder / "app" / "patch.yaml", configmap("app", "token", "hunter2hunter2"))
    outcome = shipyard("validate", "some-folder", "--format", "json")
    assert outcome.code == 1
    (finding,) = outcome.findings
    # the object's file; the patched field is not in it, so the nearest line that is (data:)
    assert (finding["check"], finding["file"], finding["line"]) == ("SY322", "some-folder/app/configmap.yaml", 6)
    assert finding["message"] == "data.token is a literal credential"


def test_a_component_and_hidden_folders_are_skipped(corpus: Path, shipyard) -> None:
    """A kustomize Component cannot be built alone (kustomize refuses): it
    is checked where a kustomization includes it. Hidden folders (.git, a
    cache) hold no manifests."""
    folder = corpus / "some-folder"
    write(folder / "component" / "kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: patch.yaml\n")
    write(folder / "component" / "patch.yaml", configmap("app", "token", "hunter2hunter2"))
    write(folder / ".cache" / "old.yaml", configmap("old", "password", "hunter2hunter2"))
    write(folder / "ok.yaml", configmap("ok", "mode", "fast"))
    outcome = shipyard("validate", "some-folder", "--format", "json")
    assert (outcome.code, outcome.findings) == (0, [])


APPLICATION = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: plain
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/example/bad-input.git
    path: some-folder
    directory:
      recurse: {recurse}
  destination:
    server: https://kubernetes.default.svc
    namespace: default
"""


@pytest.mark.parametrize("recurse", [False, True])
def test_argo_cd_directory_recurse_is_followed_as_written(planted: Path, shipyard, recurse: bool) -> None:
    """An Application's plain folder is what Argo CD reads: its subfolders
    only with directory.recurse, as before."""
    write(planted.parent / "apps" / "plain.yaml", APPLICATION.format(recurse=str(recurse).lower()))
    outcome = shipyard("validate", "apps/plain.yaml", "--check", "SY322", "--format", "json")
    files = [f["file"] for f in outcome.findings]
    assert files == (["some-folder/team/storage/s3.yaml"] if recurse else [])
