"""Helm's output read as one text (shipyard.render.helm.sourced_documents)
gives what reading it piece by piece gives: the same values, each with
the template its ``# Source:`` comment names. Checked on every chart the
mirror holds, rendered by the real helm, and on the edge cases by hand."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shipyard.errors import ShipyardError
from shipyard.load import load_documents
from shipyard.render.binaries import find_binaries
from shipyard.render.helm import SOURCE_COMMENT, sourced_documents

MIRROR = Path(os.environ.get("SHIPYARD_MIRROR") or Path(__file__).resolve().parents[3] / "shared" / "mirror")
CHARTS = sorted((MIRROR / "charts").glob("*.tgz")) if (MIRROR / "charts").is_dir() else []


def piece_by_piece(text: str) -> list[tuple[str, Any]]:
    """The reference: split at ``---`` lines, read each piece alone."""
    out: list[tuple[str, Any]] = []
    for doc in re.split(r"^---\s*$", text, flags=re.MULTILINE):
        if not doc.strip():
            continue
        match = SOURCE_COMMENT.search(doc)
        template = match.group(1).strip() if match else ""
        out += [(template, body) for body, _line in load_documents(doc, template)]
    return out


def typed(pairs: list[tuple[str, Any]]) -> list[str]:
    return [template + " " + json.dumps(body, sort_keys=True, default=repr) for template, body in pairs]


@pytest.mark.skipif(not CHARTS, reason=f"no charts in the mirror at {MIRROR}")
@pytest.mark.parametrize("chart", CHARTS, ids=[c.name for c in CHARTS])
def test_a_real_chart_reads_the_same_whole_as_piece_by_piece(chart: Path) -> None:
    helm = find_binaries().helm
    text = subprocess.run([helm, "template", "release", str(chart), "--namespace", "ns", "--include-crds"],
                          check=True, capture_output=True, text=True).stdout
    whole = sourced_documents(text, lambda template: template)
    assert len(whole) > 3
    assert typed(whole) == typed(piece_by_piece(text))
    assert sum(1 for template, _body in whole if template) > len(whole) // 2


def test_documents_keep_their_templates_across_empty_and_multi_document_pieces() -> None:
    text = (
        "---\n# Source: c/templates/a.yaml\nkind: A\n"
        "---\n# Source: c/templates/empty.yaml\n"
        "---\n\n# Source: c/templates/two.yaml\nkind: B1\n...\n---\nkind: B2\n"
        "---\n# Source: c/templates/z.yaml\n# a comment\nkind: Z\n"
    )
    got = sourced_documents(text, lambda template: template)
    assert got == piece_by_piece(text)
    assert [t for t, _ in got] == ["c/templates/a.yaml", "c/templates/two.yaml", "", "c/templates/z.yaml"]


def test_a_broken_piece_is_named_by_its_template() -> None:
    text = "---\n# Source: c/templates/ok.yaml\nkind: A\n---\n# Source: c/templates/bad.yaml\nkind: [B\n"
    with pytest.raises(ShipyardError) as raised:
        sourced_documents(text, lambda template: f"chart:c/{template or '?'}")
    assert "c/templates/bad.yaml" in str(raised.value.file or "") + raised.value.message
