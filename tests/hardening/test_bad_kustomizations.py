"""Kustomizations that kustomize refuses, or that reach outside the repository.

Built with the real kustomize (`shipyard validate k/X`). Mistakes are named
with the kustomization file and the line of the entry at fault, before
kustomize runs where they can be found statically; what only kustomize
finds is reduced to its innermost cause and located the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bad-input"

# (folder under k/, check id, file, line, words the message must hold)
ERRORS = [
    ("cycle-a", "SY903", "k/cycle-b/kustomization.yaml", 4, "a cycle (k/cycle-a -> k/cycle-b -> k/cycle-a)"),
    ("self", "SY903", "k/self/kustomization.yaml", 4, "'.' is a kustomization already being built, a cycle"),
    ("parent", "SY903", "k/parent/child/kustomization.yaml", 4, "a cycle (k/parent -> k/parent/child -> k/parent)"),
    ("parent/child", "SY903", "k/parent/child/kustomization.yaml", 4, "'..' contains a kustomization already being built"),
    ("missing", "SY401", "k/missing/kustomization.yaml", 5, "resources entry 'deployment.yaml' does not exist"),
    ("folder-without-kustomization", "SY401", "k/folder-without-kustomization/kustomization.yaml", 4,
     "'../plain' is a folder without a kustomization.yaml"),
    ("file-outside", "SY903", "k/file-outside/kustomization.yaml", 4,
     "'../shared/configmap.yaml' is a file outside the kustomization's folder (k/file-outside/)"),
    ("malformed", "SY910", "k/malformed/kustomization.yaml", 5, "mapping values are not allowed"),
    ("tabs", "SY910", "k/tabs/kustomization.yaml", 4, "a tab character"),
    ("alias-bomb", "SY911", "k/alias-bomb/kustomization.yaml", 5, "aliases expand beyond the size limit"),
    # every file kustomize reads, and every inline YAML text, goes through the bounded loader first
    ("resource-alias-bomb", "SY911", "k/resource-alias-bomb/configmap.yaml", 6, "aliases expand beyond the size limit"),
    ("patch-alias-bomb", "SY911", "k/patch-alias-bomb/patch.yaml", 6, "aliases expand beyond the size limit"),
    ("inline-patch-alias-bomb", "SY911", "k/inline-patch-alias-bomb/kustomization.yaml", 12,
     "patches[0].patch: YAML aliases expand beyond the size limit"),
    ("component-alias-bomb", "SY911", "k/component-alias-bomb/component/patch.yaml", 6,
     "aliases expand beyond the size limit"),
    ("inline-patch-malformed", "SY910", "k/inline-patch-malformed/kustomization.yaml", 14,
     "patches[0].patch: invalid YAML: did not find expected ',' or ']' (at the end of patches[0].patch; "
     "while parsing a flow sequence that starts at line 13)"),
    ("big-integer", "SY910", "k/big-integer/configmap.yaml", 7, "has 5,000 digits, beyond the 4,300 the loader reads"),
    ("empty", "SY903", "k/empty/kustomization.yaml", 1, "the kustomization file is empty"),
    ("not-a-mapping", "SY903", "k/not-a-mapping/kustomization.yaml", 1, "a kustomization is a mapping"),
    # found by kustomize itself, explained
    ("unknown-field", "SY903", "k/unknown-field/kustomization.yaml", 3, 'unknown field "resourcez"'),
    ("duplicate-ids", "SY903", "k/duplicate-ids/kustomization.yaml", 5,
     "may not add resource with an already registered id: ConfigMap.v1.[noGrp]/settings.default"),
    ("patch-without-target", "SY903", "k/patch-without-target/kustomization.yaml", 5,
     "no resource matches strategic merge patch"),
    ("remote-bad-ref", "SY903", "k/remote-bad-ref/kustomization.yaml", 4,
     "could not be fetched: git fetch --depth=1 https://github.com/kubeflow/katib v0.0.0-does-not-exist: "
     "fatal: couldn't find remote ref"),
]


@pytest.mark.parametrize(("folder", "check", "file", "line", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_kustomization_error(corpus: Path, shipyard, folder: str, check: str, file: str, line: int, words: str) -> None:
    outcome = shipyard("validate", f"k/{folder}", "--no-cache")
    assert outcome.code == 2, outcome.err
    error = outcome.error
    assert (error["check"], error["file"], error["line"]) == (check, file, line)
    assert words in error["message"] and error["hint"]
    assert "accumulating resources" not in error["message"]  # kustomize's nesting is not passed on
    assert str(corpus) not in error["message"]  # nor this machine's absolute paths


def test_remote_base_hint_names_the_mirror(corpus: Path, shipyard) -> None:
    error = shipyard("validate", "k/remote-bad-ref", "--no-cache").error
    assert "git/<owner>/<repo>.git" in error["hint"]


def test_reaching_outside_the_repository_is_a_finding(corpus: Path, shipyard) -> None:
    outcome = shipyard("validate", "k/escape", "--format", "json")
    assert outcome.code == 1
    (finding,) = outcome.findings
    assert (finding["check"], finding["file"], finding["line"]) == ("SY408", "k/escape/kustomization.yaml", 4)
    assert finding["message"].startswith("'../../../outside' resolves to ") and finding["message"].endswith(
        "outside, outside the repository")


def test_a_symlink_out_of_the_repository_is_a_finding(corpus: Path, shipyard) -> None:
    os.symlink(corpus.parent / "outside", corpus / "k" / "symlink" / "outside-link")
    outcome = shipyard("validate", "k/symlink", "--format", "json")
    assert outcome.code == 1
    (finding,) = outcome.findings
    assert (finding["check"], finding["file"], finding["line"]) == ("SY408", "k/symlink/kustomization.yaml", 4)
    assert "'outside-link' resolves to" in finding["message"]


def test_a_symlink_loop_is_an_error_not_a_hang(corpus: Path, shipyard) -> None:
    folder = corpus / "k" / "symlink"
    os.symlink(folder / "outside-link", folder / "outside-link")  # points at itself
    error = shipyard("validate", "k/symlink", "--no-cache").error
    assert (error["check"], error["file"], error["line"]) == ("SY401", "k/symlink/kustomization.yaml", 4)
    assert "'outside-link' cannot be resolved (a symlink that leads back to itself" in error["message"]


def test_deeply_nested_kustomization_is_an_error_not_a_crash(corpus: Path, shipyard) -> None:
    """A kustomization nested past libyaml's C stack once killed the
    process (a segmentation fault) while its inputs were hashed."""
    folder = corpus / "k" / "deep"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text("resources: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    error = shipyard("validate", "k/deep", "--no-cache").error
    assert (error["check"], error["file"], error["line"]) == ("SY911", "k/deep/kustomization.yaml", 1)


def test_the_valid_bases_of_the_corpus_build(corpus: Path, shipyard) -> None:
    """The broken cases above fail for their own reason, not their bases'."""
    for folder in ("shared", "shared-again"):
        assert shipyard("validate", f"k/{folder}").code == 0


# Duplicate keys: kustomize builds them without a word, keeping the last
# value in a kustomization file and a JSON patch, the first in a
# strategic-merge patch. Findings (exit 1), as for manifests; the render goes
# on. (folder, [(file, line, words)], the objects kustomize built)
DUPLICATES = [
    ("duplicate-keys",
     [("k/duplicate-keys/kustomization.yaml", 6,
       "duplicate key resources (first at line 3): kustomize keeps the last one (line 6) and ignores the others")],
     [{"name": "kept", "data": {"mode": "fast"}}]),  # ../shared, in the first list, is not built
    ("duplicate-patch-keys",
     [("k/duplicate-patch-keys/add-keys.yaml", 3,
       "duplicate key [0].path in the JSON patch of patches[2] in k/duplicate-patch-keys/kustomization.yaml "
       "(first at line 2): kustomize keeps the last one (line 3)"),
      ("k/duplicate-patch-keys/kustomization.yaml", 13,
       "duplicate key data.level in the strategic-merge patch of patches[0] (first at line 12): "
       "kustomize applies the first one and ignores this one"),
      ("k/duplicate-patch-keys/kustomization.yaml", 20,
       "duplicate key [0].path in the JSON patch of patches[1] (first at line 19): kustomize keeps the last one "
       "(line 20)")],
     # the op meant for /data/mode renamed the object; level is the first value; a is b
     [{"name": "renamed", "data": {"mode": "fast", "level": "low", "b": "1"}}]),
]


@pytest.mark.parametrize(("folder", "expected", "built"), DUPLICATES, ids=[d[0] for d in DUPLICATES])
def test_duplicate_keys_are_findings_that_name_the_value_kustomize_used(
        corpus: Path, shipyard, folder: str, expected: list[tuple[str, int, str]], built: list[dict]) -> None:
    for run in ("renders and caches", "reads the render cache"):  # found before kustomize, so on a cached render too
        outcome = shipyard("validate", f"k/{folder}", "--format", "json")
        assert outcome.code == 1, (run, outcome.err)
        assert any((corpus / ".shipyard-cache").iterdir())
        found = sorted((f["check"], f["file"], f["line"]) for f in outcome.findings)
        assert found == [("SY103", file, line) for file, line, _ in expected]
        by_line = {(f["file"], f["line"]): f for f in outcome.findings}
        for file, line, words in expected:
            assert words in by_line[(file, line)]["message"] and by_line[(file, line)]["hint"]
    rendered = shipyard("render", f"k/{folder}")
    objects = [doc for doc in yaml.safe_load_all(rendered.out) if doc]
    assert [{"name": o["metadata"]["name"], "data": o["data"]} for o in objects] == built


def test_a_duplicate_key_that_breaks_the_build_is_named_in_the_hint(corpus: Path, shipyard) -> None:
    """kustomize refuses the op (it kept the second path, which does not
    exist): the error is kustomize's, and the hint points at the duplicate."""
    error = shipyard("validate", "k/duplicate-key-breaks-build", "--no-cache").error
    assert (error["check"], error["file"]) == ("SY903", "k/duplicate-key-breaks-build/kustomization.yaml")
    assert "replace operation does not apply: doc is missing path: /data/missing/deeper" in error["message"]
    assert ("k/duplicate-key-breaks-build/kustomization.yaml:12 may be why: duplicate key [0].path in the JSON patch "
            "of patches[0] (first at line 11)") in error["hint"]


def test_a_duplicate_key_in_a_base_is_reported_in_the_base(corpus: Path, shipyard) -> None:
    top = corpus / "k" / "uses-duplicates"
    top.mkdir()
    (top / "kustomization.yaml").write_text("resources:\n- ../duplicate-keys\n", encoding="utf-8")
    outcome = shipyard("validate", "k/uses-duplicates", "--format", "json")
    assert [(f["check"], f["file"], f["line"], f["target"]) for f in outcome.findings] == [
        ("SY103", "k/duplicate-keys/kustomization.yaml", 6, "k/uses-duplicates")]


def test_every_corpus_kustomization_has_a_case() -> None:
    stored = {p.parent.relative_to(CORPUS / "repo" / "k").as_posix()
              for p in (CORPUS / "repo" / "k").rglob("kustomization.yaml")}
    covered = ({e[0] for e in ERRORS} | {d[0] for d in DUPLICATES}
               | {"cycle-b", "escape", "symlink", "shared", "shared-again", "duplicate-key-breaks-build",
                  "component-alias-bomb/component"})
    assert stored == covered
