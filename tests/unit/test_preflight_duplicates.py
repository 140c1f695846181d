"""preflight.duplicate_keys and engine.folder_inputs on their own: the
forms a patch is written in, where each finding points, inputs that cannot
be read, and what a plain folder holds. End to end, with kustomize, in
tests/hardening/test_bad_kustomizations.py and test_plain_folders.py."""

from __future__ import annotations

import os
from pathlib import Path

from shipyard.render.engine import folder_inputs
from shipyard.render.preflight import duplicate_keys

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bad-input" / "repo" / "k"


def kustomization(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(text, encoding="utf-8")
    return folder


def found(folder: Path, root: Path) -> list[tuple[str, int, str]]:
    return [(f.file, f.line, f.message) for f in duplicate_keys(folder, root, target="t")]


def test_a_key_three_times_names_the_last_in_each_finding(tmp_path: Path) -> None:
    k = kustomization(tmp_path / "k", "resources:\n- a.yaml\nresources:\n- b.yaml\nresources:\n- c.yaml\n")
    assert [(file, line) for file, line, _ in found(k, tmp_path)] == [("k/kustomization.yaml", 3),
                                                                       ("k/kustomization.yaml", 5)]
    assert all("(first at line 1): kustomize keeps the last one (line 5)" in m for _, _, m in found(k, tmp_path))


def test_a_patch_on_one_line_is_placed_at_its_entry(tmp_path: Path) -> None:
    k = kustomization(tmp_path / "k", "resources:\n- a.yaml\npatches:\n- target: {kind: ConfigMap}\n"
                      "  patch: '[{\"op\": \"add\", \"path\": \"/data/a\", \"path\": \"/data/b\", \"value\": \"1\"}]'\n")
    ((file, line, message),) = found(k, tmp_path)
    assert (file, line) == ("k/kustomization.yaml", 5)
    assert message.startswith("duplicate key [0].path in the JSON patch of patches[0] (first at line 5)")


def test_every_place_a_patch_is_written(tmp_path: Path) -> None:
    k = kustomization(tmp_path / "k", """resources:
- a.yaml
patchesJson6902:
- target: {version: v1, kind: ConfigMap, name: a}
  patch: |  # an inline JSON patch
    - op: add
      op: remove
      path: /data/a
patchesStrategicMerge:
- |-
  apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
  data: {x: "1", x: "2"}
- smp.yaml
""")
    (k / "smp.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n", encoding="utf-8")
    assert [(file, line, message.split(" (first")[0]) for file, line, message in found(k, tmp_path)] == [
        ("k/kustomization.yaml", 7, "duplicate key [0].op in the JSON patch of patchesJson6902[0]"),
        ("k/kustomization.yaml", 14, "duplicate key data.x in the strategic-merge patch of patchesStrategicMerge[0]"),
        ("k/smp.yaml", 5, "duplicate key metadata.name in the strategic-merge patch of patchesStrategicMerge[1] "
                          "in k/kustomization.yaml"),
    ]


def test_bases_and_components_are_walked_once_and_cycles_end(tmp_path: Path) -> None:
    kustomization(tmp_path / "base", "resources:\n- ../top\nnamePrefix: a-\nnamePrefix: b-\n")
    kustomization(tmp_path / "component", "kind: Component\nnameSuffix: -a\nnameSuffix: -b\n")
    top = kustomization(tmp_path / "top", "resources:\n- ../base\n- ../base\ncomponents:\n- ../component\n")
    assert sorted((file, line) for file, line, _ in found(top, tmp_path)) == [
        ("base/kustomization.yaml", 4), ("component/kustomization.yaml", 3)]


def test_what_cannot_be_read_is_left_to_kustomize(tmp_path: Path) -> None:
    """check_tree and kustomize report these as the errors they are."""
    bomb = (CORPUS / "alias-bomb" / "kustomization.yaml").read_text(encoding="utf-8")
    for name, text in [("malformed", "resources: [\n"), ("bomb", bomb), ("list", "- a\n- a\n"), ("empty", ""),
                       ("deep", "resources: " + "[" * 10_000 + "]" * 10_000 + "\n")]:
        assert found(kustomization(tmp_path / name, text), tmp_path) == []
    missing = kustomization(tmp_path / "missing", "patches:\n- path: nowhere.yaml\npatchesStrategicMerge:\n- gone.yaml\n")
    assert found(missing, tmp_path) == []
    too_long = kustomization(tmp_path / "too-long", f"resources:\n- {'a' * 300}/x\npatches:\n- path: {'b' * 300}\n")
    assert found(too_long, tmp_path) == []  # a name the file system refuses to look up
    assert found(tmp_path / "no-such-folder", tmp_path) == []


def test_a_plain_folder_holds_manifests_and_kustomizations(tmp_path: Path) -> None:
    for rel in ("a.yaml", "b/c.yml", "b/d/e.json", "notes.txt", ".hidden.yaml", ".git/config.yaml", "k/x.yaml",
                "comp/p.yaml", "chart/Chart.yaml", "chart/templates/cm.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}\n", encoding="utf-8")
    kustomization(tmp_path / "k", "resources:\n- x.yaml\n")
    kustomization(tmp_path / "comp", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n")
    os.symlink(tmp_path, tmp_path / "b" / "loop")
    assert [(kind, path.relative_to(tmp_path).as_posix()) for kind, path in folder_inputs(tmp_path)] == [
        ("file", "a.yaml"), ("file", "b/c.yml"), ("file", "b/d/e.json"), ("kustomization", "k")]
