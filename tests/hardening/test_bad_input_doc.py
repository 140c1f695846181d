"""docs/bad-input.md lists every input of the corpus, so the table and the
tests cannot drift apart silently."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "bad-input" / "repo"


def test_every_corpus_input_has_a_row() -> None:
    doc = (ROOT / "docs" / "bad-input.md").read_text(encoding="utf-8")
    inputs = [f"files/{p.name}" for p in (CORPUS / "files").iterdir()]
    inputs += [f"k/{p.parent.relative_to(CORPUS / 'k').as_posix()}" for p in (CORPUS / "k").rglob("kustomization.yaml")]
    inputs += [f"apps/{p.name}" for p in (CORPUS / "apps").iterdir()]
    shared = {"k/shared", "k/shared-again", "k/cycle-b"}  # bases of other cases
    missing = [name for name in inputs if f"`{name}`" not in doc and name not in shared]
    assert not missing, f"add a row to docs/bad-input.md for: {', '.join(sorted(missing))}"
