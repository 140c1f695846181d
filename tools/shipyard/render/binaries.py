"""Find the pinned helm and kubectl (kustomize) binaries and check versions.

The set-up step installs them into the virtual environment's bin folder;
a matching binary on PATH is accepted too. The versions matter: kustomize
5.8 changed how a kustomization's namespace applies to chart output, and
rendered YAML is compared across machines, so every machine renders with the
same versions.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ToolMissing
from shipyard.render.run import run_process, tool_timeout

HELM_VERSION = "v3.19.0"
KUBECTL_VERSION = "v1.34.5"
KUSTOMIZE_VERSION = "v5.7.1"
SETUP_HINT = "run `make setup` (or `python3 tools/install.py`) to install the pinned binaries into .venv/bin"


@dataclass(frozen=True)
class Binaries:
    helm: str
    kubectl: str
    helm_version: str
    kustomize_version: str

    @property
    def fingerprint(self) -> str:
        """Part of every render cache key: a different binary renders differently."""
        return f"helm={self.helm_version};kustomize={self.kustomize_version}"


def _candidates(name: str) -> list[str]:
    """Where to look for ``name``. ``SHIPYARD_HELM`` / ``SHIPYARD_KUBECTL``,
    when set, is the only candidate: an explicit choice that does not work is
    reported, never silently replaced by another binary."""
    env = os.environ.get(f"SHIPYARD_{name.upper()}")
    if env:
        return [env]
    found: list[str] = []
    venv_bin = Path(sys.prefix) / "bin" / name
    if venv_bin.is_file():
        found.append(str(venv_bin))
    on_path = shutil.which(name)
    if on_path:
        found.append(on_path)
    return found


def _run_version(cmd: list[str]) -> tuple[str, str]:
    """(the version text a binary prints, "") or ("", why it told none:
    "not found", "no answer within 30s", ...)."""
    try:
        limit = min(30.0, tool_timeout(30.0))
        out = run_process(cmd, timeout=limit)
    except FileNotFoundError:
        return "", "not found"
    except PermissionError:
        return "", "not executable"
    except OSError as exc:
        return "", f"cannot run: {exc.strerror or exc}"
    except subprocess.TimeoutExpired:
        return "", f"no answer within {limit:g}s"
    text = (out.stdout + out.stderr).strip()
    return (text, "") if text else ("", f"printed nothing, exit code {out.returncode}")


def _short(text: str) -> str:
    """One line of at most 80 characters: what a candidate said, for errors."""
    first = text.strip().splitlines()[0] if text.strip() else "nothing"
    return first if len(first) <= 80 else first[:77] + "..."


def _setup_hint(name: str) -> str:
    variable = f"SHIPYARD_{name.upper()}"
    if os.environ.get(variable):
        return f"{variable} names a binary that is not the pinned version: point it at one that is, or unset it"
    return SETUP_HINT


@functools.lru_cache(maxsize=1)
def find_binaries() -> Binaries:
    """The pinned helm and kubectl, or a ToolMissing error saying what to do."""
    helm = None
    helm_seen = []
    for cand in _candidates("helm"):
        text, problem = _run_version([cand, "version", "--template", "{{.Version}}"])
        helm_seen.append(f"{cand} ({problem or _short(text)})")
        if text.strip().startswith(HELM_VERSION.rsplit(".", 1)[0]):
            helm = (cand, text.strip())
            break
    if helm is None:
        seen = "; ".join(helm_seen) or "none on PATH or in the virtual environment"
        raise ToolMissing(f"helm {HELM_VERSION} not found (seen: {seen})", hint=_setup_hint("helm"), check="SY901")
    kubectl = None
    kubectl_seen = []
    for cand in _candidates("kubectl"):
        text, problem = _run_version([cand, "version", "--client"])
        match = re.search(r"Kustomize Version: (v[\d.]+)", text)
        kubectl_seen.append(f"{cand} (kustomize {match.group(1)})" if match else f"{cand} ({problem or _short(text)})")
        if match and match.group(1).rsplit(".", 1)[0] == KUSTOMIZE_VERSION.rsplit(".", 1)[0]:
            kubectl = (cand, match.group(1))
            break
    if kubectl is None:
        seen = "; ".join(kubectl_seen) or "none on PATH or in the virtual environment"
        raise ToolMissing(
            f"kubectl with kustomize {KUSTOMIZE_VERSION} not found (seen: {seen})", hint=_setup_hint("kubectl"),
            check="SY901",
        )
    return Binaries(helm=helm[0], kubectl=kubectl[0], helm_version=helm[1], kustomize_version=kubectl[1])
