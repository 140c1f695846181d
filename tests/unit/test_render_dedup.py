"""Every distinct kustomize build runs once per run: a shared upstream base
is built once for all the overlays that include it (shipyard.render.shared),
a long list of folders is built in slices (shipyard.render.split), and both
give exactly what kustomize gives in place: the same objects, in the same
order, with the same origins. Real kustomize, remote bases from the mirror."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from shipyard.errors import ShipyardError
from shipyard.render.engine import Renderer
from shipyard.render.run import TOOL_CLOCK
from shipyard.repo import Repository
from shipyard.targets import make_renderer

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "repos" / "engines"
KATIB = "https://github.com/kubeflow/katib/manifests/v1beta1/installs/katib-standalone?ref=v0.19.0"
KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture()
def repo(tmp_path: Path, mirror_dir: Path) -> Repository:
    """The engines fixture with one upstream base (Katib, a remote base)
    that four overlays include, each transforming it differently."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    write(root, "base/upstream/kustomization.yaml", KUSTOMIZATION + f"resources:\n- {KATIB}\n"
          "configMapGenerator:\n- name: upstream-settings\n  namespace: kubeflow\n  literals: [mode=standalone]\n")
    # Patches by target and a component deleting an object by name: staged.
    write(root, "overlays/a/kustomization.yaml", KUSTOMIZATION + "resources:\n- ../../base/upstream\n- ../../base/app\n"
          "components:\n- ../../components/no-cert\n"
          "patches:\n- target: {group: apps, kind: Deployment, name: katib-controller}\n  patch: |-\n"
          "    - op: add\n      path: /metadata/labels/tier\n      value: a\n")
    write(root, "components/no-cert/kustomization.yaml",
          "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- patch: |-\n"
          "    $patch: delete\n    apiVersion: v1\n    kind: Secret\n    metadata:\n      name: katib-webhook-cert\n"
          "      namespace: kubeflow\n")
    # Labels on every object: staged, every object handed to kustomize.
    write(root, "overlays/b/kustomization.yaml", KUSTOMIZATION + "resources:\n- ../../base/upstream\n"
          "labels:\n- pairs: {env: b}\n")
    # A patch of the base's generated ConfigMap by its name before the hash
    # suffix: kustomize matches it in place only, so it is built in place.
    write(root, "overlays/c/kustomization.yaml", KUSTOMIZATION + "resources:\n- ../../base/upstream\n"
          "patches:\n- target: {kind: ConfigMap, name: upstream-settings}\n  patch: |-\n"
          "    - op: add\n      path: /data/extra\n      value: x\n")
    # A name prefix: refused (kustomize names generated objects last).
    write(root, "overlays/d/kustomization.yaml", KUSTOMIZATION + "namePrefix: d-\nresources:\n- ../../base/upstream\n")
    return Repository.load(root)


@pytest.fixture()
def in_place() -> Iterator[None]:
    os.environ["SHIPYARD_SHARED_BASES"] = "0"
    try:
        yield
    finally:
        del os.environ["SHIPYARD_SHARED_BASES"]


OVERLAYS = ["overlays/a", "overlays/b", "overlays/c", "overlays/d"]


def builds(what: str) -> int:
    return sum(1 for call, _seconds in TOOL_CLOCK.log if call.startswith(f"kustomize build {what}"))


def render(renderer: Renderer, rels: list[str]) -> dict[str, list[Any]]:
    try:
        return {rel: renderer.kustomize_records(rel) for rel in rels}
    finally:
        if renderer.mirror:
            renderer.mirror.close()


def in_place_records(repo: Repository, rels: list[str]) -> dict[str, list[Any]]:
    os.environ["SHIPYARD_SHARED_BASES"] = "0"
    try:
        return render(make_renderer(repo, use_cache=False), rels)
    finally:
        del os.environ["SHIPYARD_SHARED_BASES"]


def same(left: list[Any], right: list[Any]) -> bool:
    """Equal records, field order of each body included."""
    return left == right and [list(body) for body, *_ in left] == [list(body) for body, *_ in right]


def test_a_shared_upstream_base_is_built_once_and_each_overlay_gets_what_kustomize_gives_in_place(
        repo: Repository) -> None:
    TOOL_CLOCK.reset()
    staged = render(make_renderer(repo, use_cache=False), OVERLAYS)
    assert builds("base/upstream") == 1
    assert {rel: builds(rel) for rel in OVERLAYS} == {"overlays/a": 1, "overlays/b": 1, "overlays/c": 1,
                                                      "overlays/d": 1}
    TOOL_CLOCK.reset()
    expected = in_place_records(repo, OVERLAYS)
    assert builds("base/upstream") == 0 and builds("overlays/") == 4
    for rel in OVERLAYS:
        assert same(staged[rel], expected[rel]), rel
    # The origins are the upstream files, not the staged copy.
    a = {(b["kind"], b["metadata"]["name"]): (where, local) for b, where, _line, local in staged["overlays/a"]}
    assert a[("Deployment", "katib-controller")][0].startswith("https://github.com/kubeflow/katib//")
    assert ("Secret", "katib-webhook-cert") not in a
    assert a[("Namespace", "app")] == ("base/app/namespace.yaml", True)
    tier = [b for b, *_ in staged["overlays/a"] if b["kind"] == "Deployment"][0]["metadata"]["labels"]["tier"]
    assert tier == "a"
    settings = [b for b, *_ in staged["overlays/c"] if b["metadata"]["name"].startswith("upstream-settings")]
    assert settings[0]["data"] == {"mode": "standalone", "extra": "x"}


def test_two_threads_asking_for_overlays_of_one_base_run_each_build_once(repo: Repository) -> None:
    TOOL_CLOCK.reset()
    renderer = make_renderer(repo, use_cache=False)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(renderer.kustomize_records, ["overlays/a", "overlays/b"] * 4))
    finally:
        if renderer.mirror:
            renderer.mirror.close()
    assert builds("base/upstream") == 1 and builds("overlays/a") == 1 and builds("overlays/b") == 1
    assert all(r is results[0] for r in results[0::2]) and all(r is results[1] for r in results[1::2])


def test_a_cached_base_is_not_built_again_for_a_changed_overlay(repo: Repository) -> None:
    render(make_renderer(repo), ["overlays/a"])
    write(repo.root, "overlays/a/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"
          "  namespace: app\n")
    kfile = repo.root / "overlays/a/kustomization.yaml"
    kfile.write_text(kfile.read_text().replace("- ../../base/app\n", "- ../../base/app\n- extra.yaml\n"))
    TOOL_CLOCK.reset()
    records = render(make_renderer(repo), ["overlays/a"])["overlays/a"]
    assert builds("base/upstream") == 0 and builds("overlays/a") == 1
    assert ("ConfigMap", "extra") in {(b["kind"], b["metadata"]["name"]) for b, *_ in records}


def many_models(repo: Repository, count: int) -> str:
    names = [f"m{k:03d}" for k in range(count)]
    for name in names:
        write(repo.root, f"models/{name}/kustomization.yaml", KUSTOMIZATION + "namespace: app\nresources:\n- cm.yaml\n"
              f"configMapGenerator:\n- name: {name}-settings\n  literals: [model={name}]\n")
        write(repo.root, f"models/{name}/cm.yaml", f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n"
              "spec:\n  ports: [{port: 80}]\n")
    write(repo.root, "overlays/many/kustomization.yaml",
          KUSTOMIZATION + "resources:\n" + "".join(f"- ../../models/{n}\n" for n in reversed(names)))
    return "overlays/many"


def test_a_long_list_of_folders_is_built_in_slices_to_what_one_build_gives(repo: Repository) -> None:
    from shipyard.render import split

    rel = many_models(repo, split.MIN_FOLDERS + 5)
    TOOL_CLOCK.reset()
    sliced = render(make_renderer(repo, use_cache=False), [rel])[rel]
    assert builds(rel) == 2  # two slices, no whole build
    expected = in_place_records(repo, [rel])[rel]
    assert len(sliced) == 2 * (split.MIN_FOLDERS + 5)
    assert same(sliced, expected)


def test_two_folders_of_a_sliced_list_that_make_one_object_fail_as_kustomize_says(repo: Repository) -> None:
    from shipyard.render import split

    rel = many_models(repo, split.MIN_FOLDERS + 5)
    # The last model also makes the first one's Service: one id twice.
    last = f"m{split.MIN_FOLDERS + 4:03d}"
    write(repo.root, f"models/{last}/cm.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: m000\n"
          "spec:\n  ports: [{port: 80}]\n")
    TOOL_CLOCK.reset()
    with pytest.raises(ShipyardError) as caught:
        render(make_renderer(repo, use_cache=False), [rel])
    assert "m000" in caught.value.message and builds(rel) == 3  # two slices, then the whole build for its error


def test_shared_bases_can_be_turned_off(repo: Repository, in_place: None) -> None:
    TOOL_CLOCK.reset()
    render(make_renderer(repo, use_cache=False), ["overlays/a", "overlays/b"])
    assert builds("base/upstream") == 0 and builds("overlays/") == 2
