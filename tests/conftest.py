"""Shared test set-up: the repository root and the upstream mirror.

Tests never reach the internet: they read charts and remote bases from the
mirror named by SHIPYARD_MIRROR, defaulting to ../shared/mirror beside the
repository when it exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_DEFAULT_MIRROR = REPO_ROOT.parent / "shared" / "mirror"
if not os.environ.get("SHIPYARD_MIRROR") and _DEFAULT_MIRROR.is_dir():
    os.environ["SHIPYARD_MIRROR"] = str(_DEFAULT_MIRROR)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    value = os.environ.get("SHIPYARD_MIRROR")
    if not value or not Path(value).is_dir():
        pytest.skip("no mirror: set SHIPYARD_MIRROR to a folder like ../shared/mirror")
    return Path(value)
