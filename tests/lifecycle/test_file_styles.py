"""An edit keeps the file's own style: CRLF line endings stay CRLF and a
byte-order mark stays, in pins and in model.yaml alike (a Windows editor's
file must not become a whole-file diff in the pull request)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

PIN = "overlays/dev/models/iris/kustomization.yaml"
MODEL = "models/iris/model.yaml"


def _raw(lc: LifecycleRepo, rel: str) -> bytes:
    return (lc.root / rel).read_bytes()


def _write_raw(lc: LifecycleRepo, rel: str, data: bytes) -> None:
    (lc.root / rel).write_bytes(data)
    lc.git("add", rel)
    lc.git("commit", "-q", "-m", f"{rel} in another style")


def test_a_crlf_pin_stays_crlf(lc: LifecycleRepo) -> None:
    _write_raw(lc, PIN, _raw(lc, PIN).replace(b"\n", b"\r\n"))
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-commit")
    assert run.code == 0, run.err
    after = _raw(lc, PIN)
    assert b"versions/1.1.0" in after
    assert after.count(b"\n") == after.count(b"\r\n")  # every line still ends in CRLF
    assert lc.git("diff", "--stat").strip().endswith("1 file changed, 1 insertion(+), 1 deletion(-)")


def test_a_bom_and_crlf_model_yaml_keep_both(lc: LifecycleRepo, tmp_path: Path) -> None:
    _write_raw(lc, MODEL, b"\xef\xbb\xbf" + _raw(lc, MODEL).replace(b"\n", b"\r\n"))
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"accuracy": 0.98, "f1_macro": 0.97}')
    run = lc.shipyard("register", "iris", "--version", "1.3.0", "--uri", "gs://models-example/iris/1.3.0",
                      "--metrics", str(metrics), "--created", "2026-11-20T10:00:00Z")
    assert run.code == 0, run.err
    after = _raw(lc, MODEL)
    assert after.startswith(b"\xef\xbb\xbf") and b"version: 1.3.0" in after
    assert after.count(b"\n") == after.count(b"\r\n")
    numstat = lc.git("diff", "--numstat", "--", MODEL).split()
    assert numstat[1] == "0"  # lines only added: nothing else in the file changed
