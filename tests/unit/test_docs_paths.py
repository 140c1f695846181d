"""The documentation is read on other machines: it names no folder of the
machine it was written on. The mirror is `SHIPYARD_MIRROR=/path/to/mirror`
(or the relative `../shared/mirror` the tests use), never where it happens
to live here."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([REPO_ROOT / "README.md", REPO_ROOT / ".pre-commit-hooks.yaml", *(REPO_ROOT / "docs").glob("*.md")])
# an absolute path to a shared/mirror folder ("../shared/mirror" is relative, and fine)
ABSOLUTE_MIRROR = re.compile(r"(?<![.\w])(?:/[\w.-]+)+/shared/mirror")


def _machine_paths() -> list[str]:
    paths = [str(folder) + "/" for folder in (REPO_ROOT, REPO_ROOT.parent) if len(folder.parts) > 1]
    mirror = os.environ.get("SHIPYARD_MIRROR")
    if mirror and Path(mirror).is_absolute():
        paths.append(str(Path(mirror)))
    return paths


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_no_page_names_a_folder_of_this_machine(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    found = [path for path in _machine_paths() if path in text]
    found += ABSOLUTE_MIRROR.findall(text)
    assert not found, f"{page.relative_to(REPO_ROOT)} names {found}: write SHIPYARD_MIRROR=/path/to/mirror instead"


def test_the_verifying_section_points_at_the_mirror_section() -> None:
    text = (REPO_ROOT / "docs" / "manifests.md").read_text(encoding="utf-8")
    section = text[text.index("## Verifying"):]
    assert "SHIPYARD_MIRROR=/path/to/mirror" in section
    assert "../README.md#using-a-mirror-air-gapped" in section
    assert "## Using a mirror (air-gapped)" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
