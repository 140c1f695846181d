"""promtool for the monitoring tests: the pinned one `make setup` installs.

A developer without it (no root, not Debian) gets these tests skipped with
the reason; CI (CI=true) must have it, so there they fail instead.
"""

from __future__ import annotations

import os

import pytest

from shipyard.errors import ToolMissing
from shipyard.monitoring.promtool import Promtool, find_promtool


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


@pytest.fixture(scope="session")
def promtool() -> Promtool:
    try:
        return find_promtool()
    except ToolMissing as exc:
        if in_ci():
            pytest.fail(f"CI must have promtool: {exc}")
        pytest.skip(str(exc))
