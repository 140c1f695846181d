"""The folder digest an MLFLOW_SERVER version registers (shipyard.serving.folder_digest):
deterministic, every file and every path counts, and the documented shell
line computes the same value."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.serving.folder_digest import covers_folder, folder_manifest, folder_sha256, registered_digest

SHELL = "cd \"$1\" && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


FILES = {"MLmodel": b"flavors: {}\n", "model.pkl": b"\x80\x04pickle", "sub/b.txt": b"b", "Z.txt": b"z",
         "a b.txt": b"space", "sub/ä.txt": "umlaut".encode()}


def test_the_digest_is_the_sha256sum_lines_in_byte_order(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "m", FILES)
    lines = "".join(f"{hashlib.sha256(FILES[rel]).hexdigest()}  {rel}\n"
                    for rel in sorted(FILES, key=lambda r: r.encode()))
    assert folder_sha256(folder) == hashlib.sha256(lines.encode()).hexdigest()
    assert [rel for rel, _ in folder_manifest(folder)] == ["MLmodel", "Z.txt", "a b.txt", "model.pkl", "sub/b.txt",
                                                           "sub/ä.txt"]
    shell = subprocess.run(["bash", "-c", SHELL, "_", str(folder)], capture_output=True, text=True, check=True,
                           env={"PATH": "/usr/bin:/bin"})
    assert shell.stdout.split()[0] == folder_sha256(folder)


def test_creation_order_and_empty_folders_do_not_count(tmp_path: Path) -> None:
    one = _folder(tmp_path / "one", FILES)
    two = _folder(tmp_path / "two", dict(reversed(list(FILES.items()))))
    (two / "empty" / "nested").mkdir(parents=True)
    assert folder_sha256(one) == folder_sha256(two)


@pytest.mark.parametrize("change", ["byte", "added", "renamed", "removed"])
def test_any_change_to_any_file_changes_it(tmp_path: Path, change: str) -> None:
    before = folder_sha256(_folder(tmp_path / "a", FILES))
    folder = _folder(tmp_path / "b", FILES)
    if change == "byte":
        (folder / "sub" / "b.txt").write_bytes(b"c")
    elif change == "added":
        (folder / "conda.yaml").write_bytes(b"")
    elif change == "renamed":
        (folder / "model.pkl").rename(folder / "model2.pkl")
    else:
        (folder / "Z.txt").unlink()
    assert folder_sha256(folder) != before


def test_names_the_shell_line_would_escape_are_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "m", {"MLmodel": b"x", "bad\nname": b"y"})
    with pytest.raises(ShipyardError) as caught:
        folder_sha256(folder)
    assert caught.value.check == "SY912" and "newline or a backslash" in caught.value.message


def test_only_mlflow_server_registers_the_folder(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "m", {"model.joblib": b"j", "MLmodel": b"x"})
    assert covers_folder("MLFLOW_SERVER") and not covers_folder("SKLEARN_SERVER") and not covers_folder(None)
    assert registered_digest(folder, folder / "model.joblib", "SKLEARN_SERVER") == hashlib.sha256(b"j").hexdigest()
    assert registered_digest(folder, folder / "MLmodel", "MLFLOW_SERVER") == folder_sha256(folder)
