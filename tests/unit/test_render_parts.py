"""The small parts of rendering: what a kustomization reads, the cache key,
deterministic output, cluster facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.objects import K8sObject, Source
from shipyard.render.cache import RenderCache
from shipyard.render.deps import escapes, local_inputs, target_inputs
from shipyard.render.output import to_yaml
from shipyard.render.scope import cluster_scoped_kinds, set_default_namespace
from shipyard.repo import normalise_kube_version


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_local_inputs_follow_every_kind_of_reference(tmp_path: Path) -> None:
    write(tmp_path, {
        "base/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator:\n- name: v\n  files: [key=values.yaml]\n",
        "base/cm.yaml": "kind: ConfigMap\n",
        "base/values.yaml": "a: 1\n",
        "comp/kustomization.yaml": "kind: Component\npatches:\n- path: patch.yaml\n",
        "comp/patch.yaml": "kind: ConfigMap\n",
        "ov/kustomization.yaml": "resources:\n- ../base\n- https://github.com/kubeflow/katib/manifests?ref=v0.19.0\ncomponents: [../comp]\n",
        "unrelated.yaml": "x: 1\n",
    })
    files, remotes = local_inputs(tmp_path / "ov")
    names = {f.relative_to(tmp_path.resolve()).as_posix() for f in files}
    assert names == {"ov/kustomization.yaml", "base/kustomization.yaml", "base/cm.yaml", "base/values.yaml",
                     "comp/kustomization.yaml", "comp/patch.yaml"}
    assert remotes == {"https://github.com/kubeflow/katib/manifests?ref=v0.19.0"}


def test_target_inputs_follow_gitops_paths_and_values_files(tmp_path: Path) -> None:
    write(tmp_path, {
        "clusters/c/kustomization.yaml": "resources: [apps.yaml]\n",
        "clusters/c/apps.yaml": (
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n  sources:\n"
            "  - repoURL: https://charts.example.com\n    chart: x\n    helm: {valueFiles: [$values/values/x.yaml]}\n"
            "  - repoURL: https://git.example.com/r.git\n    path: app\n"
        ),
        "values/x.yaml": "a: 1\n",
        "app/kustomization.yaml": "resources: [cm.yaml]\n",
        "app/cm.yaml": "kind: ConfigMap\n",
    })
    found = target_inputs(tmp_path, "clusters/c", lambda url: url == "https://git.example.com/r.git")
    assert found == {"clusters/c/kustomization.yaml", "clusters/c/apps.yaml", "values/x.yaml",
                     "app/kustomization.yaml", "app/cm.yaml"}


def test_escapes_name_the_kustomization_and_reference(tmp_path: Path) -> None:
    write(tmp_path / "repo", {"ov/kustomization.yaml": "resources: [../../outside]\n"})
    write(tmp_path, {"outside/kustomization.yaml": "resources: []\n"})
    (found,) = escapes(tmp_path / "repo", "ov")
    assert found[0] == "ov/kustomization.yaml" and found[1] == "../../outside"


def test_cache_key_depends_on_content_not_on_the_checkout_path(tmp_path: Path) -> None:
    for clone in ("a", "b"):
        write(tmp_path / clone, {"k/kustomization.yaml": "resources: []\n"})
    digest_a = RenderCache.files_digest({(tmp_path / "a" / "k" / "kustomization.yaml")}, tmp_path / "a")
    digest_b = RenderCache.files_digest({(tmp_path / "b" / "k" / "kustomization.yaml")}, tmp_path / "b")
    assert digest_a == digest_b
    (tmp_path / "b" / "k" / "kustomization.yaml").write_text("resources: [x.yaml]\n")
    assert RenderCache.files_digest({(tmp_path / "b" / "k" / "kustomization.yaml")}, tmp_path / "b") != digest_a


def test_cache_round_trip_and_disabled(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    cache.put("k" * 64, [({"a": 1}, "f.yaml", 3, True)])
    assert cache.get("k" * 64) == [({"a": 1}, "f.yaml", 3, True)]
    assert RenderCache(tmp_path, enabled=False).get("k" * 64) is None


def obj(body: dict) -> K8sObject:
    return K8sObject(body=body, source=Source("f.yaml", 1))


def test_output_is_ordered_and_stable() -> None:
    objects = [obj({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b", "namespace": "x"}}),
               obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}),
               obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "x", "name": "a"}, "data": {"s": "l1\nl2\n"}})]
    text = to_yaml(objects)
    assert text == to_yaml(list(reversed(objects)))
    kinds = [line for line in text.splitlines() if line.startswith("kind:")]
    assert kinds == ["kind: Namespace", "kind: ConfigMap", "kind: Deployment"]
    assert "s: |\n" in text


def test_namespaces_are_set_copy_on_write_and_never_on_cluster_scoped_objects() -> None:
    crd = obj({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "ps.x.io"},
               "spec": {"scope": "Cluster", "names": {"kind": "Policy"}}})
    shared = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    cm, policy = obj(shared), obj({"apiVersion": "x.io/v1", "kind": "Policy", "metadata": {"name": "p"}})
    set_default_namespace([cm, policy, crd], "models", cluster_scoped_kinds([crd]))
    assert cm.namespace == "models" and "namespace" not in shared["metadata"]
    assert policy.namespace == "" and crd.namespace == ""


@pytest.mark.parametrize("raw, expected", [("1.33", "1.33.0"), ("v1.34.2", "1.34.0"), (" 1.30 ", "1.30.0")])
def test_kubernetes_versions_normalise(raw: str, expected: str) -> None:
    assert normalise_kube_version(raw) == expected


def test_a_bad_kubernetes_version_is_a_clear_error() -> None:
    with pytest.raises(ShipyardError) as err:
        normalise_kube_version("latest", "clusters/x/cluster.yaml")
    assert "latest" in str(err.value) and err.value.file == "clusters/x/cluster.yaml"
