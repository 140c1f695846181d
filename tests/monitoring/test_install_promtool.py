"""tools/install.py installs the pinned promtool the way CI needs it: as
root, non-interactively, `apt-get update` only when the package lists do
not know the package, and never failing the set-up (validate says SY901).

apt-get and promtool are stand-ins on a PATH of their own, so the test
changes nothing on the machine."""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _install_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shipyard_install", ROOT / "tools" / "install.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _script(path: Path, text: str) -> None:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with only a fake apt-get: `install` fails for lack of lists
    until `update` ran, then puts a promtool 2.42 on the same PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    _script(bin_dir / "apt-get", f"""echo "$DEBIAN_FRONTEND $*" >> {log}
case "$1" in
  update) : > {tmp_path}/lists; exit 0;;
  install)
    if [ ! -f {tmp_path}/lists ]; then echo "E: Unable to locate package prometheus" >&2; exit 100; fi
    printf '#!/bin/sh\\necho "promtool, version 2.42.0+ds (branch: debian/sid)"\\n' > {bin_dir}/promtool
    /bin/chmod +x {bin_dir}/promtool; exit 0;;
esac
exit 1
""")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("SHIPYARD_PROMTOOL", raising=False)
    return bin_dir


def test_installs_the_pin_updating_the_lists_only_when_needed(fake_bin: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    install = _install_module()
    monkeypatch.setattr(install, "VENV", fake_bin.parent / "no-venv")
    monkeypatch.setattr(install.os, "geteuid", lambda: 0)
    install.ensure_promtool()
    log = (fake_bin.parent / "apt.log").read_text().splitlines()
    pinned = f"{install.PROMTOOL_PACKAGE}={install.PROMTOOL_DEB_VERSION}"
    assert log == [f"noninteractive install -y --no-install-recommends {pinned}", "noninteractive update",
                   f"noninteractive install -y --no-install-recommends {pinned}"]
    assert "installed promtool 2.42" in capsys.readouterr().out
    (fake_bin.parent / "apt.log").unlink()
    install.ensure_promtool()  # present now: apt-get is not called again
    assert not (fake_bin.parent / "apt.log").exists()


def test_without_root_it_says_what_to_run_and_does_not_fail(fake_bin: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    install = _install_module()
    monkeypatch.setattr(install, "VENV", fake_bin.parent / "no-venv")
    monkeypatch.setattr(install.os, "geteuid", lambda: 1000)
    install.ensure_promtool()
    err = capsys.readouterr().err
    assert "as root run: apt-get install -y --no-install-recommends prometheus=2.42.0+ds-5+deb12u1" in err
    assert not (fake_bin.parent / "apt.log").exists()


def test_a_failed_install_is_a_warning(fake_bin: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    install = _install_module()
    _script(fake_bin / "apt-get", "echo 'E: dpkg was interrupted' >&2; exit 100\n")
    monkeypatch.setattr(install, "VENV", fake_bin.parent / "no-venv")
    monkeypatch.setattr(install.os, "geteuid", lambda: 0)
    install.ensure_promtool()  # returns: the rest of the set-up goes on
    assert "could not install prometheus=2.42.0+ds-5+deb12u1: E: dpkg was interrupted" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform != "linux", reason="Debian's package")
def test_the_pin_is_what_this_machine_has(promtool: object) -> None:
    install = _install_module()
    assert install.promtool_ok(str(getattr(promtool, "path")))
