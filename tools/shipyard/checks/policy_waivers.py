"""SY390, SY391: findings about waivers themselves.

A waiver is a policy decision, so it is held to the same standard as the
manifests it excuses: it must say why (a waiver without a reason is
refused and reported), and one that no longer matches anything is stale.
The waiving itself is done by ``shipyard.waivers``; the ids are registered
here so they are listed with every other check.
"""

from __future__ import annotations

from shipyard.checks import describe

INVALID_WAIVER = "SY390"
UNUSED_WAIVER = "SY391"

describe(
    INVALID_WAIVER,
    "Waiver without a reason, or malformed",
    "A waiver is a decision someone must be able to revisit: without a reason nobody knows whether it still "
    "holds. A waiver that cannot be read waives nothing and is reported instead.",
    "Write the waiver as `check: SY3xx`, `path:` or `object:`, and `reason:` in shipyard.yaml, or as "
    "`shipyard.dev/waive: \"SY301=why; SY305=why\"` on the object.",
)
describe(
    UNUSED_WAIVER,
    "Waiver matches no finding",
    "A waiver that no longer matches anything is stale: the problem was fixed, or the object renamed, and the "
    "waiver would silently excuse the next one.",
    "Remove the waiver from shipyard.yaml, or fix its path/object.",
)
