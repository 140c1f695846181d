"""Strict override schemas: for a few kinds, a schema built from the
upstream Go API types wins over the CRD the run renders or pins.

The Training Operator's job kinds and Katib's Experiment install CRDs that
accept what their controllers cannot use (see shipyard.schemas.go_types,
which generates the files read here from ``data/strict-schemas``: a folder of
its own, since ``shipyard schemas update`` owns ``data/crd-schemas``).
``override`` is the one hook ``shipyard.schemas.crds.CrdIndex.get`` calls;
each file carries its provenance (upstream repository, tag, Go files) in
``strict-schemas/PROVENANCE.json``.
"""

from __future__ import annotations

import threading

from shipyard.schemas.crds import CrdVersion, read_crd_folder

STRICT_FOLDER = "strict-schemas"

_STRICT: dict[tuple[str, str, str], CrdVersion] | None = None
_LOCK = threading.Lock()


def strict_schemas() -> dict[tuple[str, str, str], CrdVersion]:
    """Every strict override by (group, version, kind), read once per process."""
    global _STRICT
    with _LOCK:
        if _STRICT is None:
            _STRICT = _read()
        return _STRICT


def _read() -> dict[tuple[str, str, str], CrdVersion]:
    return read_crd_folder(STRICT_FOLDER, "strict")


def override(group: str, version: str, kind: str, found: CrdVersion | None, *, use_pinned: bool) -> CrdVersion | None:
    """The strict schema for group/version/kind when there is one and the
    kind is known to the run (its CRD rendered, or pinned schemas in use);
    else ``found`` unchanged."""
    strict = strict_schemas().get((group, version, kind))
    if strict is None or (found is None and not use_pinned):
        return found
    if found is not None and not found.served:
        return found
    return strict
