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


def test_every_corpus_kustomization_has_a_case() -> None:
    stored = {p.parent.relative_to(CORPUS / "repo" / "k").as_posix()
              for p in (CORPUS / "repo" / "k").rglob("kustomization.yaml")}
    covered = {e[0] for e in ERRORS} | {"cycle-b", "escape", "symlink", "shared", "shared-again"}
    assert stored == covered
