"""docs/checks.md is generated from the check registry and must be current."""

from __future__ import annotations

import re
from pathlib import Path

from shipyard.checks import load_all
from shipyard.checks.doc import COMMAND, DOC_PATH, main, render
from shipyard.waivers import BUILTIN_WAIVERS

ROOT = Path(__file__).resolve().parents[2]


def test_docs_checks_md_is_up_to_date() -> None:
    committed = (ROOT / DOC_PATH).read_text(encoding="utf-8")
    assert committed == render(), f"{DOC_PATH} is out of date: run `{COMMAND}` (from the repository) and commit it"


def test_every_check_has_one_row_with_title_rationale_and_fix() -> None:
    text = render()
    table = text.split("| id | title | why | fix |\n|---|---|---|---|\n", 1)[1].split("\n\n", 1)[0]
    rows = table.splitlines()
    assert all(re.match(r"\| SY\d{3} \|", row) for row in rows)
    assert [row.split(" | ")[0][2:] for row in rows] == sorted(load_all())
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert len(cells) == 4 and all(cells), row


def test_builtin_upstream_waivers_are_documented_with_their_reasons() -> None:
    text = render()
    for waiver in BUILTIN_WAIVERS:
        assert f"| {', '.join(waiver.checks)} | " in text
        assert waiver.reason.split()[0] in text


def test_check_mode_fails_on_a_stale_file_and_write_mode_fixes_it(tmp_path: Path) -> None:
    out = tmp_path / "checks.md"
    out.write_text("# stale\n", encoding="utf-8")
    assert main(["--check", "--output", str(out)]) == 1
    assert main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render()
    assert main(["--check", "--output", str(out)]) == 0
