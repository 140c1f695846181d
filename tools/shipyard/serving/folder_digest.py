"""One sha256 for a whole artifact folder, and which digest a runtime's version records.

Most of Seldon's servers load one file from the folder the storage
initializer downloads (model.joblib, model.bst), so the registered sha256 is
that file's. MLFLOW_SERVER loads a folder: MLmodel names the flavour's
files (model.pkl, conda.yaml, requirements.txt, ...), and a replaced
model.pkl under an unchanged MLmodel would serve other code. Its registered
sha256 is therefore the folder digest:

    sha256 of the lines "<sha256 of the file>  <path>\\n", one per regular
    file under the folder, <path> relative to it with "/" separators, in
    ascending order of the paths' UTF-8 bytes.

The lines are exactly what GNU coreutils' sha256sum prints, so anyone can
recompute it from a downloaded copy:

    cd FOLDER && find . -type f -printf '%P\\0' | LC_ALL=C sort -z \\
      | xargs -0 sha256sum | sha256sum

Empty folders do not count (object stores have none). A file name with a
newline or a backslash is refused: sha256sum escapes those, and the digest
would no longer be reproducible by that line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from shipyard import ids
from shipyard.errors import ShipyardError

FOLDER_IMPLEMENTATIONS = frozenset({"MLFLOW_SERVER"})


def sha256_file(path: Path) -> str:
    """The sha256 of one file, read in blocks (artifacts can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_manifest(folder: Path) -> list[tuple[str, str]]:
    """(relative path, sha256) of every regular file under ``folder``, in the digest's order."""
    entries: list[tuple[str, str]] = []
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if "\n" in rel or "\\" in rel:
            raise ShipyardError(f"{folder}: the file name {rel!r} has a newline or a backslash, which the folder "
                                "digest does not allow", check=ids.ARTIFACT_UNUSABLE,
                                hint="rename the file in the model folder")
        entries.append((rel, sha256_file(path)))
    return sorted(entries, key=lambda entry: entry[0].encode("utf-8"))


def folder_sha256(folder: Path) -> str:
    """The folder digest (module docstring) of ``folder``."""
    if not folder.is_dir():
        raise ShipyardError(f"{folder} is not a folder", check=ids.ARTIFACT_UNUSABLE)
    lines = "".join(f"{digest}  {rel}\n" for rel, digest in folder_manifest(folder))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def covers_folder(implementation: str | None) -> bool:
    """Whether the registered sha256 of a version served by ``implementation`` is the folder digest."""
    return implementation in FOLDER_IMPLEMENTATIONS


def registered_digest(folder: Path, artifact: Path, implementation: str | None) -> str:
    """What a version's sha256 must equal: the folder digest, or the sha256 of the file the runtime loads."""
    return folder_sha256(folder) if covers_folder(implementation) else sha256_file(artifact)


def digest_subject(where: str, artifact_name: str, implementation: str | None) -> str:
    """What the digest is of, for messages: ``<where>/<file>`` or ``the folder <where> (every file)``."""
    return f"the folder {where} (every file)" if covers_folder(implementation) else f"{where}/{artifact_name}"
