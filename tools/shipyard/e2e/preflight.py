"""What the kind suite needs, and exactly which of it is missing here.

The suite needs a running Docker engine (the client alone is not enough),
the pinned kind binary, the pinned node image (present, or pullable) and the
pytest-kind plugin. Each missing piece is reported by name with how to get
it, so a skipped run says why and `shipyard e2e` can refuse clearly.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from shipyard.e2e.pins import KIND_VERSION, PYTEST_KIND_REQUIREMENT

KIND_ENV = "SHIPYARD_KIND"


@dataclass(frozen=True)
class Missing:
    what: str
    detail: str
    hint: str

    def __str__(self) -> str:
        return f"{self.what} ({self.detail}; {self.hint})"


def _run(cmd: list[str], timeout: float) -> tuple[int, str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return 127, f"{cmd[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(cmd)}: no answer within {timeout:.0f}s"
    except OSError as exc:
        return 126, f"{cmd[0]}: {exc}"
    return proc.returncode, (proc.stdout if proc.returncode == 0 else (proc.stderr or proc.stdout)).strip()


def find_kind() -> str | None:
    """The kind binary: $SHIPYARD_KIND, else `kind` on PATH."""
    return os.environ.get(KIND_ENV) or shutil.which("kind")


def kind_version(binary: str) -> str | None:
    code, out = _run([binary, "version"], 30)
    match = re.search(r"\bv\d+\.\d+\.\d+\S*", out) if code == 0 else None
    return match.group(0) if match else None


def check_docker() -> list[Missing]:
    if shutil.which("docker") is None:
        return [Missing("Docker", "the docker command is not on PATH", "install Docker Engine (or Docker Desktop)")]
    code, out = _run(["docker", "info", "--format", "{{.ServerVersion}}"], 30)
    if code != 0 or not out:
        reason = out.splitlines()[-1] if out else f"docker info exited {code}"
        return [Missing("a running Docker engine", f"docker info: {reason}", "start the Docker daemon; `docker info` must succeed")]
    return []


def check_kind() -> list[Missing]:
    binary = find_kind()
    want = f"kind {KIND_VERSION}"
    hint = f"install kind {KIND_VERSION} (see docs/e2e.md) or set {KIND_ENV} to its path"
    if binary is None:
        return [Missing(want, "kind is not on PATH", hint)]
    found = kind_version(binary)
    if found is None:
        return [Missing(want, f"{binary} does not run", hint)]
    if found != KIND_VERSION:
        return [Missing(want, f"{binary} is {found}; node images are pinned for {KIND_VERSION}", hint)]
    return []


def check_pytest_kind() -> list[Missing]:
    if importlib.util.find_spec("pytest_kind") is None:
        return [Missing("pytest-kind", "the plugin is not installed in this Python",
                        f"pip install -e '.[e2e]' ({PYTEST_KIND_REQUIREMENT}) into .venv")]
    return []


def check_node_image(image: str, *, pull: bool = True, pull_timeout: float = 900) -> list[Missing]:
    """Present locally, or pulled now (once; kind would pull it anyway)."""
    code, _ = _run(["docker", "image", "inspect", "--format", "{{.Id}}", image], 60)
    if code == 0:
        return []
    if not pull:
        return [Missing(f"node image {image}", "not present locally", f"docker pull {image}")]
    code, out = _run(["docker", "pull", image], pull_timeout)
    if code != 0:
        reason = out.splitlines()[-1] if out else f"docker pull exited {code}"
        return [Missing(f"node image {image}", f"not present and docker pull failed: {reason}",
                        f"docker pull {image} where the registry is reachable, or docker load it")]
    return []


def missing_requirements(node_image: str, *, pull: bool = True, need_plugin: bool = True,
                         check_image: bool = True) -> list[Missing]:
    """Everything the kind suite lacks on this machine (empty: ready to run).
    The node image is looked at (and pulled) only when the rest is there."""
    missing = check_docker()
    missing += check_kind()
    if need_plugin:
        missing += check_pytest_kind()
    if check_image and not missing:
        missing += check_node_image(node_image, pull=pull)
    return missing


def summary(missing: list[Missing]) -> str:
    return "the kind suite needs " + "; ".join(str(m) for m in missing)
