"""Shared test set-up: the repository root and the upstream mirror.

Tests never reach the internet: they read charts and remote bases from the
mirror named by SHIPYARD_MIRROR, defaulting to ../shared/mirror beside the
repository when it exists.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_DEFAULT_MIRROR = REPO_ROOT.parent / "shared" / "mirror"
if not os.environ.get("SHIPYARD_MIRROR") and _DEFAULT_MIRROR.is_dir():
    os.environ["SHIPYARD_MIRROR"] = str(_DEFAULT_MIRROR)


def _register_check_cases() -> None:
    """Make tests/fixtures/checks/cases.py importable as `shipyard_check_cases`
    (the fixture runner shared by the check tests), once, before collection."""
    name = "shipyard_check_cases"
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tests" / "fixtures" / "checks" / "cases.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


_register_check_cases()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    value = os.environ.get("SHIPYARD_MIRROR")
    if not value or not Path(value).is_dir():
        pytest.skip("no mirror: set SHIPYARD_MIRROR to a folder like ../shared/mirror")
    return Path(value)
